// Agent 1001 signs in, goes ready — the state bar shows it and the server agrees — and signs
// out; once in Chinese, once in English (the second run also drives the F3/F2 shortcuts).
import { run, newPage, login, logout, check, fail, field } from './harness.mjs'

const TEXT = {
  'zh-CN': { nav: '工作台', ready: '就绪', notReady: '未就绪', loggedOut: '未签入', signIn: '登录' },
  'en-US': { nav: 'Desktop', ready: 'Ready', notReady: 'Not ready', loggedOut: 'Signed out', signIn: 'Sign in' },
}

async function apiLogin(kefu, username) {
  const r = await fetch(`${kefu.base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: kefu.password }),
  })
  check(r.ok, `${username} cannot log in over the API (HTTP ${r.status})`)
  return (await r.json()).token
}

async function stateOf(page) {
  return page.getAttribute('[data-test=agent-state]', 'data-state')
}
async function waitState(page, want, what) {
  try {
    await page.waitForSelector(`[data-test=agent-state][data-state=${want}]`, { timeout: 10_000 })
  } catch {
    fail(`${what}: the state bar shows "${await stateOf(page)}", expected "${want}"`)
  }
}
async function serverState(page, base) {
  return page.evaluate(async (base) => {
    const token = sessionStorage.getItem('kefu.token')
    const r = await fetch(`${base}/api/v1/agents/me/state`, { headers: { authorization: `Bearer ${token}` } })
    return r.status === 200 ? (await r.json()).state : `HTTP ${r.status}`
  }, base)
}

await run('desktop: agent goes ready and signs out (zh, en)', async ({ kefu, browser }) => {
  for (const locale of ['zh-CN', 'en-US']) {
    const tx = TEXT[locale]
    const { context, page, errors } = await newPage(browser, { locale })
    await page.goto(`${kefu.base}/`)
    // not signed in: the app sends us to the login page, in the browser's language
    await page.waitForSelector('[data-test=login-submit]')
    const button = (await page.textContent('[data-test=login-submit]')).trim()
    check(button === tx.signIn, `[${locale}] login button says "${button}", expected "${tx.signIn}"`)

    // a wrong password is refused with a message
    await page.fill(field('login-username'), '1001')
    await page.fill(field('login-password'), 'wrong-password')
    await page.click('[data-test=login-submit]')
    await page.waitForSelector('[data-test=login-error]')

    await login(page, kefu.base, '1001', kefu.password)
    await page.waitForSelector('[data-test=desktop]')
    const nav = (await page.textContent('[data-test=nav-desktop]')).trim()
    check(nav === tx.nav, `[${locale}] the navigation says "${nav}", expected "${tx.nav}"`)
    check(!(await page.$('[data-test=nav-console]')), `[${locale}] an agent must not see the console entry`)
    await page.waitForSelector('[data-test=cti-status][data-status=open]', { timeout: 10_000 }).catch(() => {
      fail(`[${locale}] the live connection did not open`)
    })

    if (locale === 'zh-CN') {
      await waitState(page, 'logged_out', `[${locale}] before anything`)
      check((await page.textContent('[data-test=agent-state]')).includes(tx.loggedOut), `[${locale}] state label is not "${tx.loggedOut}"`)
      await page.click('[data-test=go-ready]')
    } else {
      // the supervisor left the agent not ready (first round); F2 = ready, F3 = not ready
      await waitState(page, 'not_ready', `[${locale}] after signing in again`)
      await page.keyboard.press('F2')
      await waitState(page, 'ready', `[${locale}] after F2`)
      await page.keyboard.press('F3')
      await waitState(page, 'not_ready', `[${locale}] after F3`)
      check((await page.textContent('[data-test=agent-state]')).includes(tx.notReady), `[${locale}] state label is not "${tx.notReady}"`)
      check((await serverState(page, kefu.base)) === 'not_ready', `[${locale}] the server does not have the agent not ready`)
      await page.keyboard.press('F2')
    }
    await waitState(page, 'ready', `[${locale}] after going ready`)
    const label = (await page.textContent('[data-test=agent-state]')).trim()
    check(label.includes(tx.ready), `[${locale}] state label "${label}" does not say "${tx.ready}"`)
    const server = await serverState(page, kefu.base)
    check(server === 'ready', `[${locale}] the server says the agent is "${server}", not ready`)
    // the timer runs
    const t1 = await page.textContent('[data-test=state-timer]')
    await page.waitForTimeout(2200)
    const t2 = await page.textContent('[data-test=state-timer]')
    check(t1 !== t2, `[${locale}] the state timer does not tick (${t1})`)

    if (locale === 'zh-CN') {
      // a change made elsewhere (the supervisor forces "not ready: meeting") reaches the
      // desktop over the live stream, without a reload
      const me = await page.evaluate(() => JSON.parse(sessionStorage.getItem('kefu.user')).id)
      const sup = await apiLogin(kefu, 'super')
      const r = await fetch(`${kefu.base}/api/v1/agents/${me}/state`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${sup}`, 'content-type': 'application/json' },
        body: JSON.stringify({ state: 'not_ready', reason: 'meeting' }),
      })
      check(r.ok, `the supervisor could not set the agent's state (HTTP ${r.status})`)
      await waitState(page, 'not_ready', `[${locale}] after the supervisor's change (live stream)`)
      const forced = (await page.textContent('[data-test=agent-state]')).trim()
      check(forced.includes('会议'), `[${locale}] the state does not show the reason: "${forced}"`)
    }

    const token = await page.evaluate(() => sessionStorage.getItem('kefu.token'))
    await logout(page)
    const after = await fetch(`${kefu.base}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } })
    check(after.status === 401, `[${locale}] the token still works after signing out (HTTP ${after.status})`)
    // a deep link while signed out goes to the login page
    await page.goto(`${kefu.base}/tickets`)
    await page.waitForSelector('[data-test=login-submit]')
    check(errors.length === 0, `[${locale}] the page logged errors:\n  ${errors.join('\n  ')}`)
    await context.close()
  }
})
