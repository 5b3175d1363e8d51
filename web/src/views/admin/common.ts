// Small helpers shared by the administration pages.

import { ElMessageBox } from 'element-plus'
import { i18n } from '@/locales'

/** Asks before deleting; resolves false when the user cancels. */
export async function confirmDelete(what: string): Promise<boolean> {
  const t = i18n.global.t
  try {
    await ElMessageBox.confirm(t('admin.common.deleteConfirm', { name: what }), t('common.actions.delete'), {
      type: 'warning',
      confirmButtonText: t('common.actions.delete'),
      cancelButtonText: t('common.actions.cancel'),
      confirmButtonClass: 'el-button--danger',
    })
    return true
  } catch {
    return false
  }
}

/** The API's name rule: 1–64 characters after trimming, no control characters. */
export const NAME_MAX = 64

export function nameRules(required = true) {
  const t = i18n.global.t
  return [
    ...(required ? [{ required: true, whitespace: true, message: () => t('admin.common.required'), trigger: 'blur' }] : []),
    { max: NAME_MAX, message: () => t('admin.common.maxChars', { n: NAME_MAX }), trigger: 'blur' },
  ]
}

export function dateOf(ms: number | null | undefined): string {
  if (!ms) return '–'
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`
}
