// Supervisor console routes (班长 / 值班长): the wallboard, the agent grid, merge groups,
// recordings, blocklist approvals and the shift handover log. Paths are relative to the app
// frame; meta.nav with group 'console' lists them under 监控.
import type { RouteRecordRaw } from 'vue-router'
import { DataBoard, User, Connection, Headset, CircleClose, Notebook } from '@element-plus/icons-vue'

export const consoleRoutes: RouteRecordRaw[] = [
  {
    // the supervisor's landing page
    path: 'console',
    name: 'console',
    component: () => import('./WallboardView.vue'),
    meta: {
      permission: 'TelephonyMonitor',
      title: 'console.nav.wallboard',
      nav: { label: 'console.nav.wallboard', icon: DataBoard, group: 'console', order: 10 },
    },
  },
  {
    path: 'console/agents',
    name: 'console-agents',
    component: () => import('./AgentGridView.vue'),
    meta: {
      permission: 'TelephonyMonitor',
      title: 'console.nav.agents',
      nav: { label: 'console.nav.agents', icon: User, group: 'console', order: 20 },
    },
  },
  {
    path: 'console/queues',
    name: 'console-queues',
    component: () => import('./QueueOpsView.vue'),
    meta: {
      permission: 'TelephonyMonitor',
      title: 'console.nav.queues',
      nav: { label: 'console.nav.queues', icon: Connection, group: 'console', order: 30 },
    },
  },
  {
    path: 'console/recordings',
    name: 'console-recordings',
    component: () => import('./RecordingsView.vue'),
    meta: {
      permission: 'RecordingsRead',
      title: 'console.nav.recordings',
      nav: { label: 'console.nav.recordings', icon: Headset, group: 'console', order: 40 },
    },
  },
  {
    // BlocklistManage on the server: supervisors and administrators
    path: 'console/blocklist',
    name: 'console-blocklist',
    component: () => import('./BlocklistView.vue'),
    meta: {
      roles: ['supervisor', 'admin'],
      title: 'console.nav.blocklist',
      nav: { label: 'console.nav.blocklist', icon: CircleClose, group: 'console', order: 50 },
    },
  },
  {
    path: 'console/handover',
    name: 'console-handover',
    component: () => import('./HandoverView.vue'),
    meta: {
      permission: 'TelephonyMonitor',
      title: 'console.nav.handover',
      nav: { label: 'console.nav.handover', icon: Notebook, group: 'console', order: 60 },
    },
  },
]
