// e2e: the supervisor console and the admin pages in a real browser against `kefu demo`.
// - real SIP calls through the demo trunk (e2e/sipcaller.mjs): one VIP caller is answered by
//   agent 1003's softphone, three callers wait in the after-sales queue (nobody who could
//   take them is ready);
// - the supervisor signs in; the wallboard shows the six demo queues (zh and en) and the
//   waiting calls, coloured by the alert thresholds;
// - the agent grid lists agents 1001–1010 with their live states; the supervisor listens in
//   on 1003's call (their own softphone rings and answers) and leaves again;
// - once the VIP call ends, its recording is listed and plays in the browser;
// - the administrator creates a skill and sees it listed;
// - screenshots: docs/screenshots/wallboard-zh.png, wallboard-en.png, agents-zh.png,
//   admin-queues-zh.png (1440×900).

import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { run, newPage, login, logout, check, REPO_DIR, DEMO_PASSWORD } from './harness.mjs'
import { placeCalls, registerPhone } from './sipcaller.mjs'

const SHOTS = join(REPO_DIR, 'docs/screenshots')
const QUEUES = ['complaints', 'product', 'after_sales', 'vip', 'general', 'harassment']
const AGENTS = Array.from({ length: 10 }, (_, i) => String(1001 + i))

async function api(base, method, path, token, body) {
  const r = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await r.text()
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`)
  return text ? JSON.parse(text) : undefined
}

async function token(base, username) {
  return (await api(base, 'POST', '/auth/login', null, { username, password: DEMO_PASSWORD })).token
}

/**
 * A floor with some life: agents signed in, ready or on a break. Of the VIP group (1001–1003)
 * only 1003 is ready; none of the after-sales group is (1002, 1004, 1006 hold the skill;
 * 1008 and 1010 stay signed out).
 */
async function staffTheFloor(base) {
  const plan = { 1001: 'not_ready/break', 1002: 'not_ready/meeting', 1003: 'ready', 1004: 'not_ready/training', 1005: 'ready', 1006: 'not_ready/meal', 1007: 'ready', 1009: 'ready' }
  for (const [user, want] of Object.entries(plan)) {
    const [state, reason] = want.split('/')
    await api(base, 'PUT', '/agents/me/state', await token(base, user), reason ? { state, reason } : { state })
  }
}

/** A flow that only queues the caller, dialled as `number` through the demo trunk. */
async function queueFlow(base, admin, number, queue) {
  const name = `e2e_${queue}`
  const r = await fetch(`${base}/api/v1/ivr/flows/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/yaml', authorization: `Bearer ${admin}` },
    body: `name: ${name}\nlanguage: zh-CN\nstart: q\nnodes:\n  q:\n    type: queue\n    queue: ${queue}\n`,
  })
  check(r.ok, `saving the flow ${name} failed: ${r.status} ${await r.text()}`)
  const trunk = (await api(base, 'GET', '/trunks', admin)).items.find((t) => t.name === 'local')
  check(trunk, 'the demo trunk `local` is missing')
  await api(base, 'PATCH', `/trunks/${trunk.id}`, admin, { inbound_routes: { ...trunk.inbound_routes, [number]: `ivr:${name}` } })
}

/** The supervisor gets extension 1099 (SIP password = their password) for listening in. */
async function supervisorExtension(base, admin) {
  const sup = (await api(base, 'GET', '/users?limit=500', admin)).items.find((u) => u.username === 'super')
  await api(base, 'PATCH', `/users/${sup.id}`, admin, { extension: '1099', password: DEMO_PASSWORD })
}

/** One VIP call answered by 1003's phone, three callers waiting in after-sales. */
async function queueCallers(kefu, phone1003) {
  const admin = await token(kefu.base, 'admin')
  await queueFlow(kefu.base, admin, '4100', 'after_sales')
  await queueFlow(kefu.base, admin, '4101', 'vip')
  // amber and red within seconds, so the screenshots show the colours
  const sup = await token(kefu.base, 'super')
  await api(kefu.base, 'PUT', '/wallboard/thresholds', sup, {
    waiting: { amber: 2, red: 5 },
    longest_wait_secs: { amber: 10, red: 40 },
  })
  const vip = await placeCalls(kefu.sip, '4101', { count: 1, caller: () => '13800000001' })
  check(vip.answered === 1, `the call to 4101 was not answered (failed: ${vip.failed})`)
  for (let i = 0; i < 50 && phone1003.invites === 0; i++) await new Promise((r) => setTimeout(r, 100))
  check(phone1003.invites === 1, `agent 1003's phone got ${phone1003.invites} calls, expected the VIP caller`)
  const waiting = await placeCalls(kefu.sip, '4100', { count: 3 })
  check(waiting.answered === 3, `3 calls to 4100 should be answered by the IVR; ${waiting.answered} were (failed: ${waiting.failed})`)
  return { vip, hangup: () => Promise.all([vip.hangup(), waiting.hangup()]) }
}

async function wallboard(browser, base, locale, tag) {
  const { context, page, errors } = await newPage(browser, { locale })
  await login(page, base, 'super')
  await page.goto(`${base}/console`)
  await page.waitForSelector('[data-test=queue-cards] .card')
  for (const q of QUEUES) {
    check(await page.$(`[data-test=queue-cards] [data-queue="${q}"]`), `wallboard (${tag}) does not show the demo queue ${q}`)
  }
  // the waiting callers show, and their wait has passed the (lowered) amber threshold
  await page.waitForFunction(() => Number(document.querySelector('[data-queue="after_sales"] .bigcell .v')?.textContent) >= 1)
  await page.waitForSelector('[data-queue="after_sales"] .bigcell:nth-child(2).amber, [data-queue="after_sales"] .bigcell:nth-child(2).red', { timeout: 30_000 })
  await page.waitForTimeout(1200) // the chart lays out
  await page.screenshot({ path: join(SHOTS, `wallboard-${tag}.png`) })
  check(!errors.length, `wallboard (${tag}) had errors:\n${errors.join('\n')}`)
  return { context, page, errors }
}

await run('console', async ({ kefu, browser }) => {
  mkdirSync(SHOTS, { recursive: true })
  await supervisorExtension(kefu.base, await token(kefu.base, 'admin'))
  const phone1003 = await registerPhone(kefu.sip, '1003', DEMO_PASSWORD)
  const phone1099 = await registerPhone(kefu.sip, '1099', DEMO_PASSWORD)
  let calls
  try {
    await staffTheFloor(kefu.base)
    calls = await queueCallers(kefu, phone1003)
    await supervisorAndAdmin(kefu, browser, phone1099, calls)
  } finally {
    await calls?.hangup()
    await phone1003.close()
    await phone1099.close()
  }
})

async function supervisorAndAdmin(kefu, browser, phone1099, calls) {
  // the supervisor: wallboard in both languages
  const en = await wallboard(browser, kefu.base, 'en-US', 'en')
  await en.context.close()
  const zh = await wallboard(browser, kefu.base, 'zh-CN', 'zh')
  const { page, errors } = zh
  const title = await page.textContent('.wallboard .page-title')
  check(title?.includes('实时监控大屏'), `the Chinese wallboard is titled "${title}"`)
  const waiting = Number(await page.textContent('[data-queue="after_sales"] .bigcell .v'))
  check(waiting >= 1, `the after-sales card shows ${waiting} waiting, expected the queued callers`)

  // the agent grid lists 1001–1010 with live states
  await page.goto(`${kefu.base}/console/agents`)
  await page.waitForSelector('[data-test=agent-table] .el-table__row')
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-test=agent-table] .el-table__body-wrapper .el-table__row').length >= n,
    AGENTS.length,
  )
  const gridText = await page.textContent('[data-test=agent-table] .el-table__body-wrapper')
  for (const ext of AGENTS) check(gridText.includes(ext), `the agent grid does not list agent ${ext}`)
  const readyRows = await page.$$('[data-test=agent-table] .el-table__body-wrapper [data-state=ready]')
  check(readyRows.length === 3, `the agent grid shows ${readyRows.length} ready agents, expected 3 (1005, 1007, 1009)`)
  // 1003 is on the VIP call: the supervisor listens in — their phone (1099) rings and answers
  const row1003 = page.locator('[data-test=agent-table] .el-table__body-wrapper .el-table__row', { hasText: '张伟' })
  await row1003.locator('[data-state=talking]').waitFor()
  await row1003.locator('[data-test=act-listen]').click()
  await page.click('.el-message-box .el-button--primary')
  await page.waitForSelector('.el-message--success')
  for (let i = 0; i < 50 && phone1099.invites === 0; i++) await page.waitForTimeout(100)
  check(phone1099.invites === 1, `the supervisor's phone got ${phone1099.invites} calls after "listen", expected 1`)
  await row1003.locator('[data-test=act-listen].el-button--primary').waitFor()
  await row1003.getByText('监听中').waitFor({ timeout: 10_000 })
  await page.screenshot({ path: join(SHOTS, 'agents-zh.png') })
  await row1003.locator('[data-test=act-leave]').click()
  await row1003.locator('[data-test=act-leave]').waitFor({ state: 'detached' })
  // the state filter narrows the grid
  await page.click('.chips .chip[data-state=not_ready]')
  await page.waitForFunction(() => document.querySelectorAll('[data-test=agent-table] .el-table__body-wrapper .el-table__row').length === 4)
  check(!errors.length, `agent grid had errors:\n${errors.join('\n')}`)

  // the VIP call ends; its recording is listed and plays in the browser (fetched with the token)
  await calls.vip.hangup()
  await page.goto(`${kefu.base}/console/recordings`)
  for (let i = 0; i < 20 && !(await page.$('[data-test=recordings] .el-table__body-wrapper .el-table__row')); i++) {
    await page.waitForTimeout(500)
    await page.click('[data-test=recordings] button[type=submit]')
  }
  await page.click('[data-test=recordings] .el-table__body-wrapper .el-table__row button')
  await page.waitForFunction(() => {
    const a = document.querySelector('[data-test=player] audio')
    return a && a.src.startsWith('blob:') && a.duration > 0
  })
  await logout(page)
  await zh.context.close()

  // the administrator: creates a skill and sees it listed; the queues page for the screenshot
  const admin = await newPage(browser, { locale: 'zh-CN' })
  await login(admin.page, kefu.base, 'admin')
  await admin.page.goto(`${kefu.base}/admin/skills`)
  await admin.page.waitForSelector('[data-test=skills-table] .el-table__row')
  const skill = `e2e_skill_${Date.now().toString(36)}`
  await admin.page.click('[data-test=skills-create]')
  await admin.page.fill('[data-test=skills-name] input', skill)
  await admin.page.click('[data-test=skills-save]')
  await admin.page.waitForFunction(
    (name) => document.querySelector('[data-test=skills-table]')?.textContent?.includes(name),
    skill,
  )
  // the client-side check refuses an empty name without asking the server
  await admin.page.click('[data-test=skills-create]')
  await admin.page.click('[data-test=skills-save]')
  await admin.page.waitForSelector('.el-dialog .el-form-item.is-error')
  await admin.page.keyboard.press('Escape')

  await admin.page.goto(`${kefu.base}/admin/queues`)
  await admin.page.waitForSelector('[data-test=admin-queues] .el-table__row')
  await admin.page.waitForTimeout(400)
  await admin.page.screenshot({ path: join(SHOTS, 'admin-queues-zh.png') })
  check(!admin.errors.length, `admin pages had errors:\n${admin.errors.join('\n')}`)
  await admin.context.close()
}
