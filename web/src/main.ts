import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { router } from './router'
import { i18n } from './locales'
import { configureHttp, type ApiError } from './api/http'
import { cti } from './api/cti'
import { useSession } from './stores/session'
import { ElMessage } from 'element-plus'
import 'element-plus/theme-chalk/el-message.css'
import 'element-plus/theme-chalk/el-message-box.css'
import 'element-plus/theme-chalk/el-notification.css'
import './styles/main.css'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.use(i18n)

const t = i18n.global.t
const session = useSession(pinia)

function messageFor(err: ApiError): string {
  if (err.code === 'network') return t('common.errors.network')
  if (err.status === 403) return `${t('common.errors.forbidden')} (${err.message})`
  return err.details.length ? `${err.message}: ${err.details.join('; ')}` : err.message
}

let expiredShown = false
function sessionOver() {
  session.clear()
  if (router.currentRoute.value.name !== 'login') {
    if (!expiredShown) {
      expiredShown = true
      ElMessage.warning({ message: t('common.errors.sessionExpired'), onClose: () => (expiredShown = false) })
    }
    void router.push({ name: 'login', query: { redirect: router.currentRoute.value.fullPath } })
  }
}

configureHttp({
  unauthorized: sessionOver,
  error: (err) => ElMessage.error({ message: messageFor(err), grouping: true, showClose: true }),
})
// the socket re-reads the token itself; a refused token ends the session like a 401
cti.opts.onUnauthorized = sessionOver

// a reload keeps the session (sessionStorage): re-check it before the first page
session.restore().finally(() => {
  app.use(router)
  app.mount('#app')
})
