// GOV.UK Frontend components (error summary focus, service navigation, buttons...).
import { initAll } from './govuk-frontend.min.js'

initAll()
