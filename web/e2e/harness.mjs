// e2e harness: starts the real kefu binary (KEFU_BIN) as a demo on free loopback ports with a
// fresh data directory, waits until it is ready, drives headless Chromium through
// playwright-core, and stops everything at the end. It builds nothing: build the web UI
// (npm run build) and the binary (cargo build) first.

import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, existsSync, createWriteStream, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import net from 'node:net'
import dgram from 'node:dgram'

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const REPO_DIR = resolve(WEB_DIR, '..')
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium'
export const DEMO_PASSWORD = 'demo-e2e-pw'

/** Fails the script with a clear message. */
export function fail(msg) {
  const err = new Error(msg)
  err.e2e = true
  throw err
}
export function check(cond, msg) {
  if (!cond) fail(msg)
}

function freeTcpPort() {
  return new Promise((res, rej) => {
    const s = net.createServer()
    s.unref()
    s.on('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => res(port))
    })
  })
}
/** A port free for both UDP and TCP (SIP listens on both). */
const handedOut = new Set()
export async function freeSipPort() {
  for (let i = 0; i < 50; i++) {
    const port = await freeTcpPort()
    // never the same port twice in one run (sipp's media takes the next ones too)
    if ([port - 2, port - 1, port, port + 1, port + 2].some((p) => handedOut.has(p))) continue
    const ok = await new Promise((res) => {
      const u = dgram.createSocket('udp4')
      u.once('error', () => res(false))
      u.bind(port, '127.0.0.1', () => u.close(() => res(true)))
    })
    if (ok) {
      handedOut.add(port)
      return port
    }
  }
  fail('no free port for SIP')
}

export function kefuBin() {
  if (process.env.KEFU_BIN) check(existsSync(process.env.KEFU_BIN), `KEFU_BIN=${process.env.KEFU_BIN} does not exist (cargo build -p kefu)`)
  const candidates = [process.env.KEFU_BIN, join(REPO_DIR, 'target/debug/kefu'), join(REPO_DIR, 'target/release/kefu')]
  const bin = candidates.find((p) => p && existsSync(p))
  if (!process.env.KEFU_BIN && bin) console.log(`  (KEFU_BIN not set, using ${bin})`)
  check(bin, 'set KEFU_BIN to a built kefu binary (cargo build -p kefu; KEFU_BIN=target/debug/kefu)')
  return resolve(bin)
}

/**
 * Starts `kefu demo` and resolves once /readyz answers 200.
 * @returns {{ base: string, password: string, sip: string, log: string, stop: () => Promise<void> }}
 */
export async function startKefu({ password = DEMO_PASSWORD, timeoutMs = 90_000 } = {}) {
  const bin = kefuBin()
  const dataDir = mkdtempSync(join(tmpdir(), 'kefu-e2e-'))
  const http = await freeTcpPort()
  const sip = await freeSipPort()
  const logPath = join(dataDir, 'kefu.log')
  const log = createWriteStream(logPath)
  const args = ['demo', '--demo-password', password, '--data-dir', dataDir, '--http', `127.0.0.1:${http}`, '--sip', `127.0.0.1:${sip}`]
  // kefu reads KEFU_* variables as settings and refuses unknown ones: KEFU_BIN is ours
  const env = { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' }
  delete env.KEFU_BIN
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
  child.stdout.pipe(log)
  child.stderr.pipe(log)
  // the last output in memory too, for error messages (the file may not be flushed yet)
  let recent = ''
  const keep = (d) => (recent = (recent + d.toString()).slice(-4000))
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  let exited = null
  child.on('exit', (code, signal) => (exited = { code, signal }))
  const base = `http://127.0.0.1:${http}`
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (exited) {
      fail(`kefu exited before it was ready (${JSON.stringify(exited)}); output:\n${recent}`)
    }
    try {
      const r = await fetch(`${base}/readyz`)
      if (r.ok) break
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      fail(`kefu was not ready within ${timeoutMs / 1000} s; output:\n${recent || tail(logPath)}`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    if (!exited) {
      child.kill('SIGTERM')
      const gone = await Promise.race([
        new Promise((r) => child.once('exit', () => r(true))),
        new Promise((r) => setTimeout(() => r(false), 10_000)),
      ])
      if (!gone) child.kill('SIGKILL')
    }
    log.end()
    if (!process.env.KEEP_E2E_DATA) rmSync(dataDir, { recursive: true, force: true })
  }
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => stop().finally(() => process.exit(130)))
  return { base, password, sip: `127.0.0.1:${sip}`, log: logPath, stop }
}

function tail(path, lines = 40) {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

/** Headless Chromium (Debian's package). */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core')
  check(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_BIN)`)
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
}

/**
 * A fresh page in its own context, with the browser's language (e.g. 'zh-CN', 'en-US') and
 * collecting page errors so a script can assert there were none.
 */
export async function newPage(browser, { locale = 'en-US', viewport = { width: 1440, height: 900 } } = {}) {
  const context = await browser.newContext({ locale, viewport, deviceScaleFactor: 1 })
  const page = await context.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|404)/.test(m.text())) {
      errors.push(`console: ${m.text()}`)
    }
  })
  page.setDefaultTimeout(15_000)
  openPages.push(page)
  return { context, page, errors }
}

/** The text input of an Element Plus input with data-test=NAME (on the input or around it). */
export function field(name) {
  return `input[data-test=${name}], textarea[data-test=${name}], [data-test=${name}] input`
}

const openPages = []

/** Signs in through the login form and waits for the app frame. */
export async function login(page, base, username, password = DEMO_PASSWORD) {
  await page.goto(`${base}/login`)
  await page.fill(field('login-username'), username)
  await page.fill(field('login-password'), password)
  await page.click('[data-test=login-submit]')
  await page.waitForSelector('[data-test=user]')
}

export async function logout(page) {
  await page.click('[data-test=logout]')
  await page.waitForSelector('[data-test=login-submit]')
}

/**
 * Runs an e2e script body with a kefu and a browser, and exits non-zero with a clear message
 * when it fails.
 */
export async function run(name, body) {
  const started = Date.now()
  let kefu
  let browser
  try {
    kefu = await startKefu()
    browser = await launchBrowser()
    await body({ kefu, browser })
    console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
  } catch (e) {
    console.error(`FAIL ${name}: ${e.e2e ? e.message : e.stack || e}`)
    // what the browser showed when it failed
    for (const [i, p] of openPages.entries()) {
      const file = join(tmpdir(), `kefu-e2e-failure-${process.pid}-${i}.png`)
      if (!p.isClosed() && (await p.screenshot({ path: file }).then(() => true, () => false))) console.error(`     screenshot: ${file}`)
    }
    if (kefu) console.error(`     kefu log: ${kefu.log} (kept with KEEP_E2E_DATA=1)`)
    process.exitCode = 1
  } finally {
    await browser?.close().catch(() => {})
    await kefu?.stop().catch(() => {})
  }
}
