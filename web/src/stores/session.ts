// Who is signed in: the token (sessionStorage, so each tab is its own session), the user,
// and what their role may do. The permission table mirrors kefu_core::rbac::PERMISSIONS and
// only decides what the UI shows — the server checks every call.

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { http, getToken, setToken } from '@/api/http'
import type { LoginResponse, Role, User } from '@/api/types'
import { cti } from '@/api/cti'

export type Permission =
  | 'DirectoryRead'
  | 'UsersManage'
  | 'ConfigRead'
  | 'ConfigManage'
  | 'EventLogRead'
  | 'AuditRead'
  | 'TrunksManage'
  | 'RecordingsRead'
  | 'CallsControl'
  | 'TelephonyMonitor'
  | 'CustomersRead'
  | 'CustomersWrite'
  | 'PiiRead'
  | 'TicketsRead'
  | 'TicketsWork'
  | 'TicketsManage'
  | 'KbRead'
  | 'KbWrite'
  | 'DataExport'

const ALL: Role[] = ['agent', 'team_lead', 'qa', 'supervisor', 'admin']
export const PERMISSIONS: Record<Permission, Role[]> = {
  DirectoryRead: ['team_lead', 'qa', 'supervisor', 'admin'],
  UsersManage: ['admin'],
  ConfigRead: ALL,
  ConfigManage: ['admin'],
  EventLogRead: ['supervisor', 'admin'],
  AuditRead: ['admin'],
  TrunksManage: ['admin'],
  RecordingsRead: ['team_lead', 'qa', 'supervisor', 'admin'],
  CallsControl: ['agent', 'team_lead', 'supervisor', 'admin'],
  TelephonyMonitor: ['team_lead', 'supervisor', 'admin'],
  CustomersRead: ALL,
  CustomersWrite: ['agent', 'team_lead', 'supervisor', 'admin'],
  PiiRead: ['supervisor', 'admin'],
  TicketsRead: ALL,
  TicketsWork: ['agent', 'team_lead', 'supervisor', 'admin'],
  TicketsManage: ['team_lead', 'supervisor', 'admin'],
  KbRead: ALL,
  KbWrite: ['team_lead', 'qa', 'supervisor', 'admin'],
  DataExport: ['team_lead', 'supervisor', 'admin'],
}

const USER_KEY = 'kefu.user'

export const useSession = defineStore('session', () => {
  const token = ref<string | null>(getToken())
  const user = ref<User | null>(readUser())
  const expiresAt = ref<number | null>(null)

  const role = computed<Role | null>(() => user.value?.role ?? null)
  const signedIn = computed(() => !!token.value && !!user.value)

  function can(p: Permission): boolean {
    return !!role.value && PERMISSIONS[p].includes(role.value)
  }
  function hasRole(roles?: Role[]): boolean {
    if (!roles || roles.length === 0) return true
    return !!role.value && roles.includes(role.value)
  }

  async function login(username: string, password: string): Promise<User> {
    const r = await http.post<LoginResponse>('/auth/login', { username, password }, { silent: true })
    setToken(r.token)
    token.value = r.token
    user.value = r.user
    expiresAt.value = r.expires_at
    sessionStorage.setItem(USER_KEY, JSON.stringify(r.user))
    cti.start()
    return r.user
  }

  /** After a reload: the token is still in sessionStorage; refresh the user behind it. */
  async function restore(): Promise<boolean> {
    if (!token.value) return false
    try {
      const me = await http.get<User>('/users/me', { silent: true })
      user.value = me
      sessionStorage.setItem(USER_KEY, JSON.stringify(me))
      cti.start()
      return true
    } catch {
      clear()
      return false
    }
  }

  /** Ends the session on the server (best effort) and locally. */
  async function logout(): Promise<void> {
    try {
      if (token.value) await http.post('/auth/logout', undefined, { silent: true })
    } catch {
      /* already gone */
    }
    clear()
  }

  function clear() {
    cti.stop()
    setToken(null)
    sessionStorage.removeItem(USER_KEY)
    token.value = null
    user.value = null
    expiresAt.value = null
  }

  return { token, user, role, signedIn, expiresAt, can, hasRole, login, restore, logout, clear }
})

function readUser(): User | null {
  try {
    const raw = sessionStorage.getItem(USER_KEY)
    return raw ? (JSON.parse(raw) as User) : null
  } catch {
    return null
  }
}
