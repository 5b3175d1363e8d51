// Real calls for the e2e scripts, with sipp (Debian package sip-tester) and the interop
// scenarios in scripts/interop/sipp: an agent's phone that registers and answers (echoing
// RTP), and a caller who dials the hotline, presses 1 and stays on the line.

import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_DIR, check, freeSipPort } from './harness.mjs'

const SCENARIOS = join(REPO_DIR, 'scripts', 'interop', 'sipp')
const work = mkdtempSync(join(tmpdir(), 'kefu-e2e-sipp-'))

export function hasSipp() {
  return spawnSync('sipp', ['-v'], { stdio: 'ignore' }).error === undefined
}

function sipp(name, args) {
  const p = spawn('sipp', [...args, '-trace_err', '-error_file', join(work, `${name}.err.log`)], { cwd: work, stdio: 'ignore' })
  const done = new Promise((r) => p.once('exit', (code) => r(code)))
  return { proc: p, done, stop: () => p.kill('SIGTERM') }
}

async function api(kefu, token, method, path, body) {
  const r = await fetch(`${kefu.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await r.text()
  return { status: r.status, body: text ? JSON.parse(text) : null }
}

export async function apiToken(kefu, username) {
  const r = await fetch(`${kefu.base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: kefu.password }),
  })
  check(r.ok, `${username} cannot log in over the API (HTTP ${r.status})`)
  return (await r.json()).token
}

/** The demo hotline keeps office hours (China time): open it round the clock, as an admin would. */
export async function openHotline(kefu) {
  const admin = await apiToken(kefu, 'admin')
  const { body } = await api(kefu, admin, 'GET', '/api/v1/ivr/flows/hotline')
  body.flow.nodes.hours.weekly = [{ days: [1, 2, 3, 4, 5, 6, 7], from: '00:00', to: '24:00' }]
  body.flow.nodes.hours.holidays = []
  const put = await api(kefu, admin, 'PUT', '/api/v1/ivr/flows/hotline', { flow: body.flow, numbers: body.numbers })
  check(put.status === 200, `could not open the hotline round the clock (HTTP ${put.status})`)
}

/** Registers `ext` from `port` and answers the next call there (sipp UAS, RTP echo). */
export async function agentPhone(kefu, ext) {
  const [host] = kefu.sip.split(':')
  const port = await freeSipPort()
  const mediaPort = await freeSipPort()
  const reg = sipp(`register-${ext}`, [kefu.sip, '-sf', join(SCENARIOS, 'agent_register.xml'), '-s', ext, '-au', ext, '-ap', kefu.password,
    '-i', host, '-p', String(port), '-m', '1', '-timeout', '10s', '-timeout_error'])
  check((await reg.done) === 0, `the phone of ${ext} could not register (sipp logs in ${work})`)
  return sipp(`phone-${ext}`, [kefu.sip, '-sf', join(SCENARIOS, 'agent_uas.xml'), '-i', host, '-p', String(port), '-mp', String(mediaPort),
    '-rtp_echo', '-m', '1', '-timeout', '120s', '-timeout_error'])
}

/** A caller from `from` who dials `to` (the hotline), presses 1 and stays `holdMs` on the line. */
export async function caller(kefu, { from, to = '4000', holdMs = 60_000 }) {
  const [host] = kefu.sip.split(':')
  const port = await freeSipPort()
  const mediaPort = await freeSipPort()
  const scenario = join(work, `caller-${from.replace(/\W/g, '')}.xml`)
  writeFileSync(
    scenario,
    readFileSync(join(SCENARIOS, 'caller_hotline.xml'), 'utf8')
      .replaceAll('From: sipp <sip:sipp@', `From: "${from}" <sip:${from}@`)
      .replaceAll('Contact: sip:sipp@', `Contact: sip:${from}@`),
  )
  return sipp(`caller-${from}`, [kefu.sip, '-sf', scenario, '-s', to, '-i', host, '-p', String(port), '-mp', String(mediaPort), '-m', '1',
    '-d', String(holdMs), '-timeout', `${Math.ceil(holdMs / 1000) + 40}s`, '-timeout_error'])
}
