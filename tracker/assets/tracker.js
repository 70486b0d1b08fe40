// GOV.UK Frontend components (error summary focus, service navigation, buttons...).
import { initAll } from './govuk-frontend.min.js'

initAll()

// The idle sign-out's warning (WCAG 2.2.1): typing makes no request, so a person writing a long
// share would otherwise be signed out unwarned and lose it. The page counts from its own load
// (each request restarts the server's count); "Stay signed in", or Escape, makes a request.
const warning = document.getElementById('timeout-warning')
if (warning && typeof warning.showModal === 'function') {
  const idle = Number(warning.dataset.idleSeconds) * 1000
  const warnFor = Number(warning.dataset.warnSeconds) * 1000
  const left = warning.querySelector('.tracker-timeout__left')
  const form = warning.querySelector('form')
  let deadline = 0
  let timer = 0

  const describeLeft = () => {
    const seconds = Math.max(0, Math.round((deadline - Date.now()) / 1000))
    left.textContent = seconds >= 60
      ? `You will be signed out in ${Math.round(seconds / 60)} minute${seconds >= 90 ? 's' : ''}.`
      : `You will be signed out in ${seconds} second${seconds === 1 ? '' : 's'}.`
  }
  const start = () => {
    deadline = Date.now() + idle
    window.clearTimeout(timer)
    timer = window.setTimeout(() => {
      describeLeft()
      warning.showModal()
    }, Math.max(0, idle - warnFor))
  }
  const stay = async () => {
    const response = await window.fetch(form.action, {
      method: 'POST', body: new FormData(form), credentials: 'same-origin'
    })
    if (response.status !== 204) {
      window.location.assign(response.url) // already signed out: say so
      return
    }
    warning.close()
    start()
  }
  form.addEventListener('submit', (event) => { event.preventDefault(); stay() })
  warning.addEventListener('cancel', (event) => { event.preventDefault(); stay() })
  start()
}
