// Screenshots of the agent desktop for the docs: docs/screenshots/desktop-zh.png and
// desktop-en.png (1440×900). With sipp installed they show a live call — 张晓明 on the line,
// the screen-pop, the knowledge base searched; without it, the ready desktop with the same
// customer looked up by hand.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { run, newPage, login, check, field, REPO_DIR } from './harness.mjs'
import { hasSipp, openHotline, agentPhone, caller } from './sip.mjs'

const OUT = join(REPO_DIR, 'docs', 'screenshots')
const SHOTS = [
  { locale: 'zh-CN', file: 'desktop-zh.png' },
  { locale: 'en-US', file: 'desktop-en.png' },
]
const live = hasSipp()

await run(`screenshots: agent desktop (zh, en${live ? ', live call' : ''})`, async ({ kefu, browser }) => {
  mkdirSync(OUT, { recursive: true })
  if (live) await openHotline(kefu)
  for (const s of SHOTS) {
    const { context, page, errors } = await newPage(browser, { locale: s.locale })
    await login(page, kefu.base, '1001', kefu.password)
    await page.waitForSelector('[data-test=cti-status][data-status=open]')
    const state = await page.getAttribute('[data-test=agent-state]', 'data-state')
    if (state !== 'ready') {
      await page.click('[data-test=go-ready]')
      await page.waitForSelector('[data-test=agent-state][data-state=ready]')
    }
    await page.fill(field('kb-search'), '退货 运费')
    await page.waitForSelector('[data-test=kb-hit]', { timeout: 10_000 })
    let phone, call
    try {
      if (live) {
        phone = await agentPhone(kefu, '1001')
        call = await caller(kefu, { from: '+8613800138000', holdMs: 60_000 })
        await page.waitForSelector('[data-test=agent-state][data-state=talking]', { timeout: 30_000 })
        await page.waitForSelector('[data-test=customer-name]')
        await page.waitForTimeout(4200) // a few seconds on the call timer
      } else {
        await page.fill(field('customer-search'), '张晓明')
        const item = page.locator('.el-autocomplete-suggestion li').first()
        await item.waitFor({ timeout: 10_000 })
        await item.click()
        await page.waitForSelector('[data-test=customer-name]')
      }
      await page.mouse.move(0, 0)
      await page.waitForTimeout(500) // transitions settle
      await page.screenshot({ path: join(OUT, s.file) })
      console.log(`  wrote docs/screenshots/${s.file}`)
      if (live) {
        await page.click('[data-test=call-hangup]')
        await page.waitForSelector('[data-test=agent-state][data-state=after_call_work]')
        await page.click('[data-test=go-ready]')
        await page.waitForSelector('[data-test=agent-state][data-state=ready]')
      }
    } finally {
      call?.stop()
      phone?.stop()
    }
    check(errors.length === 0, `[${s.locale}] the page logged errors:\n  ${errors.join('\n  ')}`)
    await context.close()
  }
})
