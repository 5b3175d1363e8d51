// What a route may say about itself. The navigation and the access guard read it.
import type { Component } from 'vue'
import type { Role } from '@/api/types'
import type { Permission } from '@/stores/session'

export interface NavEntry {
  /** i18n key of the label, e.g. 'console.nav.wallboard'. */
  label: string
  icon?: Component
  /** Sort order within its group (lower first). */
  order?: number
  /** Top-level item (default) or an item inside the 监控 / 管理 groups. */
  group?: 'main' | 'console' | 'admin'
}

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without signing in (the login page). */
    public?: boolean
    /** Only these roles (default: anyone signed in). */
    roles?: Role[]
    /** Or: only roles holding this permission. */
    permission?: Permission
    /** i18n key of the page title (the browser tab). */
    title?: string
    /** Shown in the left navigation. */
    nav?: NavEntry
    /** Full-width page without the content padding (wall displays). */
    bare?: boolean
  }
}

export {}
