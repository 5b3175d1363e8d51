// `npm run e2e`: runs every e2e script in turn (each starts its own kefu), prints one line per
// script, and exits non-zero if any failed. `npm run e2e -- desktop` runs only the scripts
// whose name contains "desktop".

import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = dirname(fileURLToPath(import.meta.url))
const SCRIPTS = ['desktop.mjs', 'call.mjs', 'screenshots.mjs', 'console.mjs', 'golden.mjs']
const filter = process.argv[2]
let failed = 0
let ran = 0
for (const s of SCRIPTS) {
  if (filter && !s.includes(filter)) continue
  if (!existsSync(join(dir, s))) continue
  ran++
  const r = spawnSync(process.execPath, [join(dir, s)], { stdio: 'inherit' })
  if (r.status !== 0) failed++
}
console.log(`\n${ran - failed} passed, ${failed} failed`)
process.exit(failed || ran === 0 ? 1 : 0)
