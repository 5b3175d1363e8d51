// Administration routes: users, teams, skills, queues, IVR flows, work-order categories and
// the service calendar / SLA — enough to set a center up without touching files. Paths are
// relative to the app frame; meta.nav with group 'admin' lists them under 管理.
import type { RouteRecordRaw } from 'vue-router'
import { User, UserFilled, Medal, List, Share, Files, Calendar } from '@element-plus/icons-vue'

export const adminRoutes: RouteRecordRaw[] = [
  {
    path: 'admin',
    name: 'admin',
    component: () => import('./UsersView.vue'),
    meta: {
      permission: 'UsersManage',
      title: 'admin.nav.users',
      nav: { label: 'admin.nav.users', icon: User, group: 'admin', order: 10 },
    },
  },
  {
    path: 'admin/teams',
    name: 'admin-teams',
    component: () => import('./TeamsView.vue'),
    meta: {
      permission: 'ConfigManage',
      title: 'admin.nav.teams',
      nav: { label: 'admin.nav.teams', icon: UserFilled, group: 'admin', order: 20 },
    },
  },
  {
    path: 'admin/skills',
    name: 'admin-skills',
    component: () => import('./SkillsView.vue'),
    meta: {
      permission: 'ConfigManage',
      title: 'admin.nav.skills',
      nav: { label: 'admin.nav.skills', icon: Medal, group: 'admin', order: 30 },
    },
  },
  {
    path: 'admin/queues',
    name: 'admin-queues',
    component: () => import('./QueuesView.vue'),
    meta: {
      permission: 'ConfigManage',
      title: 'admin.nav.queues',
      nav: { label: 'admin.nav.queues', icon: List, group: 'admin', order: 40 },
    },
  },
  {
    path: 'admin/ivr',
    name: 'admin-ivr',
    component: () => import('./IvrView.vue'),
    meta: {
      permission: 'ConfigManage',
      title: 'admin.nav.ivr',
      nav: { label: 'admin.nav.ivr', icon: Share, group: 'admin', order: 50 },
    },
  },
  {
    path: 'admin/categories',
    name: 'admin-categories',
    component: () => import('./CategoriesView.vue'),
    meta: {
      permission: 'ConfigManage',
      title: 'admin.nav.categories',
      nav: { label: 'admin.nav.categories', icon: Files, group: 'admin', order: 60 },
    },
  },
  {
    path: 'admin/service',
    name: 'admin-service',
    component: () => import('./ServiceConfigView.vue'),
    meta: {
      permission: 'ConfigManage',
      title: 'admin.nav.service',
      nav: { label: 'admin.nav.service', icon: Calendar, group: 'admin', order: 70 },
    },
  },
]
