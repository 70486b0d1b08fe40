// GOV.UK Frontend components (error summary focus, service navigation, buttons...).
import { initAll } from './govuk-frontend.min.js'

initAll()

// The sign-out's warning (WCAG 2.2.1): typing makes no request, so a person writing a long share
// would otherwise be signed out unwarned and lose it. Idle: the page counts from its own load
// (each request restarts the server's count), and "Stay signed in", or Escape, is a request.
// The whole sign-in's lifetime ends it however busy: that end is warned of, and cannot be put off.
const warning = document.getElementById('timeout-warning')
if (warning && typeof warning.showModal === 'function') {
  const idle = Number(warning.dataset.idleSeconds) * 1000
  const warnFor = Number(warning.dataset.warnSeconds) * 1000
  const sessionEnds = Date.now() + Number(warning.dataset.sessionLeftSeconds) * 1000
  const part = (name) => warning.querySelector(`.tracker-timeout__${name}`)
  const form = warning.querySelector('form')
  let timer = 0
  let final = false

  const show = (deadline) => {
    part('idle').hidden = final
    part('final').hidden = !final
    part('stay').hidden = final
    part('close').hidden = !final
    const at = new Date(deadline).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' })
    part('when').textContent = `You will be signed out at ${at}.`
    warning.showModal()
  }
  const start = () => {
    const deadline = Math.min(Date.now() + idle, sessionEnds)
    final = deadline === sessionEnds
    window.clearTimeout(timer)
    timer = window.setTimeout(() => show(deadline), Math.max(0, deadline - warnFor - Date.now()))
  }
  const stay = async () => {
    if (final) {
      warning.close()
      return
    }
    try {
      const response = await window.fetch(form.action, {
        method: 'POST', body: new FormData(form), credentials: 'same-origin'
      })
      if (response.status !== 204) {
        window.location.assign(response.url) // signed out already: the page says why
        return
      }
    } catch {
      part('when').textContent = 'The service could not be reached. Check your connection and try again.'
      return
    }
    warning.close()
    start()
  }
  form.addEventListener('submit', (event) => { event.preventDefault(); stay() })
  part('close').addEventListener('click', () => warning.close())
  warning.addEventListener('cancel', (event) => { event.preventDefault(); stay() })
  start()
}
