// The router. Pages load lazily. The app frame (top bar + navigation) wraps every signed-in
// page; its children come from here (desktop, tickets, KB) and from the console and admin
// areas (consoleRoutes, adminRoutes). To add a page: add a child with a lazy component and,
// if it belongs in the navigation, meta.nav (see router/meta.ts).

import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { Headset, Tickets, Reading } from '@element-plus/icons-vue'
import './meta'
import { consoleRoutes } from '@/views/console'
import { adminRoutes } from '@/views/admin'
import { useSession } from '@/stores/session'
import { i18n } from '@/locales'
import type { Role } from '@/api/types'

export const appChildren: RouteRecordRaw[] = [
  {
    path: 'desktop',
    name: 'desktop',
    component: () => import('@/views/desktop/DesktopView.vue'),
    meta: {
      permission: 'CallsControl',
      title: 'common.nav.desktop',
      nav: { label: 'common.nav.desktop', icon: Headset, order: 10 },
    },
  },
  {
    path: 'tickets',
    name: 'tickets',
    component: () => import('@/views/tickets/TicketsView.vue'),
    meta: {
      permission: 'TicketsRead',
      title: 'common.nav.tickets',
      nav: { label: 'common.nav.tickets', icon: Tickets, order: 20 },
    },
  },
  {
    path: 'kb',
    name: 'kb',
    component: () => import('@/views/kb/KbView.vue'),
    meta: { permission: 'KbRead', title: 'common.nav.kb', nav: { label: 'common.nav.kb', icon: Reading, order: 30 } },
  },
  ...consoleRoutes,
  ...adminRoutes,
]

/** Where a role starts after signing in. */
export function homeFor(role: Role | null): string {
  switch (role) {
    case 'supervisor':
      return '/console'
    case 'qa':
      return '/tickets'
    default:
      return '/desktop'
  }
}

const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('@/views/LoginView.vue'),
    meta: { public: true, title: 'common.login.title' },
  },
  {
    path: '/',
    component: () => import('@/layouts/AppLayout.vue'),
    children: [{ path: '', name: 'home', redirect: () => homeFor(useSession().role) }, ...appChildren],
  },
  {
    path: '/:pathMatch(.*)*',
    name: 'not-found',
    component: () => import('@/views/NotFound.vue'),
    meta: { public: true, title: 'common.notFound.title' },
  },
]

export const router = createRouter({ history: createWebHistory(), routes })

router.beforeEach((to) => {
  const session = useSession()
  if (to.meta.public) return true
  if (!session.signedIn) return { name: 'login', query: to.fullPath !== '/' ? { redirect: to.fullPath } : {} }
  const allowed = session.hasRole(to.meta.roles) && (!to.meta.permission || session.can(to.meta.permission))
  if (!allowed) return homeFor(session.role) === to.path ? { name: 'not-found', params: { pathMatch: ['403'] } } : homeFor(session.role)
  return true
})

router.afterEach((to) => {
  const app = i18n.global.t('common.app.name')
  document.title = to.meta.title ? `${i18n.global.t(to.meta.title)} · ${app}` : app
})
