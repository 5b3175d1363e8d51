// vue-i18n setup. Texts are split per area — src/locales/<lang>/{common,desktop,console,admin}.ts —
// and merged here under one namespace each: t('common.actions.save'), t('desktop.state.ready'),
// t('console.…'), t('admin.…'). English must have every key Chinese has (a type error otherwise).
// The language: the user's choice (localStorage) or Simplified Chinese when the browser
// prefers any Chinese, English otherwise.

import { createI18n } from 'vue-i18n'
import zhCommon from './zh-CN/common'
import zhDesktop from './zh-CN/desktop'
import zhConsole from './zh-CN/console'
import zhAdmin from './zh-CN/admin'
import enCommon from './en/common'
import enDesktop from './en/desktop'
import enConsole from './en/console'
import enAdmin from './en/admin'

const zh = { common: zhCommon, desktop: zhDesktop, console: zhConsole, admin: zhAdmin }
export type Messages = typeof zh
const en: Messages = { common: enCommon, desktop: enDesktop, console: enConsole, admin: enAdmin }

export const LOCALES = ['zh-CN', 'en'] as const
export type Locale = (typeof LOCALES)[number]
const KEY = 'kefu.locale'

export function detectLocale(): Locale {
  const saved = localStorage.getItem(KEY)
  if (saved === 'zh-CN' || saved === 'en') return saved
  const langs = navigator.languages?.length ? navigator.languages : [navigator.language]
  for (const l of langs) {
    const low = (l || '').toLowerCase()
    if (low.startsWith('zh')) return 'zh-CN'
    if (low.startsWith('en')) return 'en'
  }
  return 'en'
}

export const i18n = createI18n<[Messages], Locale, false>({
  legacy: false,
  locale: detectLocale(),
  fallbackLocale: 'en',
  messages: { 'zh-CN': zh, en },
  missingWarn: false,
  fallbackWarn: false,
})

export function setLocale(l: Locale): void {
  i18n.global.locale.value = l
  localStorage.setItem(KEY, l)
  document.documentElement.lang = l
}

document.documentElement.lang = i18n.global.locale.value
