// A real call on the agent desktop (needs sipp; skipped without it): agent 1001's phone
// (sipp) registers and answers; 张晓明 (+8613800138000, a demo customer) calls the hotline and
// presses 1. The desktop pops the customer with the number masked, holds and resumes with F4,
// hangs up with F8, and files the wrap-up — a work order linked to the call, for that
// customer — and the agent is ready again. Then an unknown number calls; the desktop says so,
// and the agent marks the call as harassment: it ends and the number is proposed for the
// blocklist.
import { run, newPage, login, check, fail, field } from './harness.mjs'
import { hasSipp, openHotline, agentPhone, caller, apiToken } from './sip.mjs'

if (!hasSipp()) {
  console.log('skip call: sipp is not installed (apt-get install -y sip-tester)')
  process.exit(0)
}

async function waitState(page, want, what, timeout = 20_000) {
  try {
    await page.waitForSelector(`[data-test=agent-state][data-state=${want}]`, { timeout })
  } catch {
    fail(`${what}: the state bar shows "${await page.getAttribute('[data-test=agent-state]', 'data-state')}", expected "${want}"`)
  }
}

await run('call: screen-pop, hold, hang up, wrap-up files a work order, harassment', async ({ kefu, browser }) => {
  await openHotline(kefu)
  const phone = await agentPhone(kefu, '1001')
  const { page, errors } = await newPage(browser, { locale: 'zh-CN' })
  await login(page, kefu.base, '1001', kefu.password)
  await page.waitForSelector('[data-test=cti-status][data-status=open]')
  await page.click('[data-test=go-ready]')
  await waitState(page, 'ready', 'before the call')

  const call = await caller(kefu, { from: '+8613800138000', holdMs: 90_000 })
  try {
    await waitState(page, 'talking', 'after the call was offered and answered', 30_000)
    // the screen-pop: the customer, masked, with the queue and the IVR path
    await page.waitForSelector('[data-test=customer-name]')
    const name = (await page.textContent('[data-test=customer-name]')).trim()
    check(name === '张晓明', `the screen-pop shows "${name}", expected 张晓明`)
    const panel = await page.textContent('[data-test=call-panel]')
    check(panel.includes('138****8000'), `the call panel does not show the masked number: ${panel}`)
    check(panel.includes('complaints'), `the call panel does not show the queue: ${panel}`)
    const all = await page.textContent('body')
    check(!all.includes('13800138000'), 'the clear number appears on an agent’s screen')

    // hold and resume with F4
    await page.keyboard.press('F4')
    await waitState(page, 'on_hold', 'after F4')
    await page.keyboard.press('F4')
    await waitState(page, 'talking', 'after F4 again')

    // hang up with F8: after-call work, the wrap-up comes first
    await page.keyboard.press('F8')
    await waitState(page, 'after_call_work', 'after F8')
    await page.waitForSelector('[data-test=wrap-up] [data-test=wrap-category] input')
    check(!(await page.textContent('body')).includes('13800138000'), 'the clear number appears on the agent’s screen after the call')
    await page.click('[data-test=wrap-up] [data-test=wrap-category] input')
    await page.keyboard.type('鲜花不新鲜')
    const suggestion = page.locator('.el-cascader__suggestion-item').first()
    await suggestion.waitFor()
    await suggestion.click()
    const summary = `e2e 客户反映鲜花不新鲜 ${Date.now()}`
    await page.fill(field('wrap-description'), summary)
    await page.click('[data-test=wrap-submit]')
    await waitState(page, 'ready', 'after filing the wrap-up')
    await page.waitForSelector('[data-test=wrap-up]', { state: 'detached' })

    // the order exists, for the customer, linked to the call
    const sup = await apiToken(kefu, 'super')
    const list = await (
      await fetch(`${kefu.base}/api/v1/tickets?q=${encodeURIComponent(summary)}`, { headers: { authorization: `Bearer ${sup}` } })
    ).json()
    check(list.items.length === 1, `expected one work order "${summary}", found ${list.items.length}`)
    const t = list.items[0]
    check(t.customer_id, 'the work order has no customer')
    const detail = await (await fetch(`${kefu.base}/api/v1/tickets/${t.id}`, { headers: { authorization: `Bearer ${sup}` } })).json()
    check(detail.calls.length === 1, `the work order has ${detail.calls.length} linked calls, expected 1`)
    check(detail.category_path.endsWith('鲜花不新鲜'), `the work order's category is ${detail.category_path}`)
  } finally {
    call.stop()
    phone.stop()
  }

  // an unknown caller, marked as harassment
  const phone2 = await agentPhone(kefu, '1001')
  const pest = await caller(kefu, { from: '+8613700009999', holdMs: 90_000 })
  try {
    await waitState(page, 'talking', 'when the unknown caller is answered', 30_000)
    const card = await page.textContent('[data-test=customer-card]')
    check(card.includes('未识别的来电'), `the customer card does not say the caller is unknown: ${card}`)
    check(card.includes('137****9999'), `the customer card does not show the masked number: ${card}`)
    await page.click('[data-test=call-harassment]')
    await page.click('[data-test=harass-confirm]')
    const done = await Promise.race([pest.done.then(() => 'ended'), new Promise((r) => setTimeout(() => r('timeout'), 15_000))])
    check(done === 'ended', 'the caller is still on the line after the call was marked as harassment')
    const sup = await apiToken(kefu, 'super')
    const r = await fetch(`${kefu.base}/api/v1/blocklist`, { headers: { authorization: `Bearer ${sup}` } })
    check(r.ok, `GET /api/v1/blocklist: HTTP ${r.status}`)
    const text = await r.text()
    check(text.includes('13700009999'), `the number is not proposed for the blocklist: ${text}`)
  } finally {
    pest.stop()
    phone2.stop()
  }
  check(errors.length === 0, `the page logged errors:\n  ${errors.join('\n  ')}`)
})
