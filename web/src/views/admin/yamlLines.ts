// Maps the server's IVR flow problems to lines of the YAML document being edited: a problem
// names its node (`node \`menu\`: …`, `nodes \`a\`, \`b\` form a loop …`), a top-level field
// (`start: …`, `survey: …`, `the flow has no name`), or a line (the YAML parser's
// `… at line 12 column 5`).

export interface LineProblem {
  message: string
  /** 1-based lines to highlight (empty when the problem has no place). */
  lines: number[]
}

const indentOf = (s: string) => s.length - s.trimStart().length
const blank = (s: string) => !s.trim() || s.trimStart().startsWith('#')
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

function topLevelLine(lines: string[], key: string): number | null {
  const re = new RegExp(`^["']?${escapeRe(key)}["']?\\s*:`)
  const i = lines.findIndex((l) => re.test(l))
  return i < 0 ? null : i + 1
}

/** The 1-based line of node `name` and the last line of its block. */
export function nodeBlock(lines: string[], name: string): { start: number; end: number } | null {
  const nodesAt = lines.findIndex((l) => /^nodes\s*:/.test(l))
  if (nodesAt < 0) return null
  let childIndent = -1
  for (let i = nodesAt + 1; i < lines.length; i++) {
    if (blank(lines[i]!)) continue
    childIndent = indentOf(lines[i]!)
    break
  }
  if (childIndent <= 0) return null
  const re = new RegExp(`^\\s{${childIndent}}["']?${escapeRe(name)}["']?\\s*:`)
  for (let i = nodesAt + 1; i < lines.length; i++) {
    const l = lines[i]!
    if (blank(l)) continue
    if (indentOf(l) < childIndent) break
    if (indentOf(l) === childIndent && re.test(l)) {
      let end = i
      for (let j = i + 1; j < lines.length; j++) {
        if (blank(lines[j]!)) continue
        if (indentOf(lines[j]!) <= childIndent) break
        end = j
      }
      return { start: i + 1, end: end + 1 }
    }
  }
  return null
}

export function locate(text: string, message: string): LineProblem {
  const lines = text.split('\n')
  const out = new Set<number>()
  for (const m of message.matchAll(/line (\d+)/g)) out.add(Number(m[1]))
  // `unknown field \`promts\`` (a typo): the line of that key, from the first line named on
  const unknown = message.match(/unknown field `([^`]+)`/)
  if (unknown && out.size) {
    const from = Math.min(...out) - 1
    const re = new RegExp(`^\\s*-?\\s*["']?${escapeRe(unknown[1]!)}["']?\\s*:`)
    const i = lines.findIndex((l, k) => k >= from && re.test(l))
    if (i >= 0) out.add(i + 1)
  }
  const nodeMsg = message.match(/^nodes? ((?:`[^`]+`(?:, )?)+)/)
  if (nodeMsg) {
    const names = [...nodeMsg[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)
    for (const n of names) {
      const b = nodeBlock(lines, n)
      if (!b) continue
      // `node `a`: next names `x`, which does not exist`: the field's own line when found
      const field = message.match(/^node `[^`]+`: (\w+)(?:\[[^\]]*\])?(?:\.\w+)? names `([^`]+)`/)
      let precise: number | null = null
      if (field) {
        for (let i = b.start; i < b.end; i++) {
          const l = lines[i]!
          if (l.includes(field[2]!) && (l.includes(field[1]! + ':') || l.includes(field[2]!))) {
            precise = i + 1
            break
          }
        }
      }
      out.add(precise ?? b.start)
    }
  } else {
    const top = message.match(/^(start|survey|name|language|utc_offset_minutes|numbers)(?:\[\d+\])?:/)
    if (top) {
      const l = topLevelLine(lines, top[1]!)
      if (l) out.add(l)
    } else if (/no name/.test(message)) {
      const l = topLevelLine(lines, 'name')
      if (l) out.add(l)
    }
  }
  return { message, lines: [...out].filter((n) => n >= 1 && n <= lines.length).sort((a, b) => a - b) }
}
