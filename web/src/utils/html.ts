// Safe HTML for the few places that show formatted text: search highlights (the server
// escapes and marks them) and knowledge-base articles (Markdown). Everything is escaped
// first; only the markup produced here (or <mark>) survives, so no stored text can inject
// script or style.

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

/** Server highlights: already escaped with <mark>…</mark>; anything else tag-like is neutralised. */
export function safeHighlight(s: string): string {
  return s
    .split(/(<\/?mark>)/)
    .map((part) => (part === '<mark>' || part === '</mark>' ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('')
}

/** Highlights `words` in plain `text` (escaped) with <mark>. */
export function markWords(text: string, words: string[]): string {
  let html = escapeHtml(text)
  const ws = words.map((w) => w.trim()).filter((w) => w.length > 0)
  if (!ws.length) return html
  const re = new RegExp(`(${ws.map((w) => escapeHtml(w).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'gi')
  html = html.replace(re, '<mark>$1</mark>')
  return html
}

function inline(s: string): string {
  // s is escaped already
  return s
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, '$1<em>$2</em>')
}

/**
 * A small Markdown subset, enough for knowledge-base articles: headings, paragraphs,
 * ordered and unordered lists, pipe tables, block quotes, code spans, bold and italics.
 */
export function markdown(src: string): string {
  const lines = escapeHtml(src.replace(/\r\n?/g, '\n')).split('\n')
  const out: string[] = []
  let i = 0
  const para: string[] = []
  const flush = () => {
    if (para.length) out.push(`<p>${inline(para.join(' '))}</p>`)
    para.length = 0
  }
  while (i < lines.length) {
    const line = lines[i]!
    const t = line.trim()
    if (!t) {
      flush()
      i++
      continue
    }
    const h = /^(#{1,6})\s+(.*)$/.exec(t)
    if (h) {
      flush()
      const level = Math.min(6, h[1]!.length + 2)
      out.push(`<h${level}>${inline(h[2]!)}</h${level}>`)
      i++
      continue
    }
    if (/^\|.*\|$/.test(t) && i + 1 < lines.length && /^\|?\s*:?-{2,}/.test(lines[i + 1]!.trim())) {
      flush()
      const cells = (r: string) => r.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => inline(c.trim()))
      const head = cells(t)
      i += 2
      const rows: string[][] = []
      while (i < lines.length && /^\|.*\|$/.test(lines[i]!.trim())) rows.push(cells(lines[i++]!))
      out.push(
        `<table><thead><tr>${head.map((c) => `<th>${c}</th>`).join('')}</tr></thead><tbody>${rows
          .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
          .join('')}</tbody></table>`,
      )
      continue
    }
    if (/^([-*+]|\d+\.)\s+/.test(t)) {
      flush()
      const ordered = /^\d+\./.test(t)
      const items: string[] = []
      while (i < lines.length && /^([-*+]|\d+\.)\s+/.test(lines[i]!.trim())) {
        items.push(inline(lines[i]!.trim().replace(/^([-*+]|\d+\.)\s+/, '')))
        i++
      }
      const tag = ordered ? 'ol' : 'ul'
      out.push(`<${tag}>${items.map((x) => `<li>${x}</li>`).join('')}</${tag}>`)
      continue
    }
    if (t.startsWith('&gt;')) {
      flush()
      const q: string[] = []
      while (i < lines.length && lines[i]!.trim().startsWith('&gt;')) q.push(lines[i++]!.trim().replace(/^&gt;\s?/, ''))
      out.push(`<blockquote>${inline(q.join(' '))}</blockquote>`)
      continue
    }
    para.push(t)
    i++
  }
  flush()
  return out.join('\n')
}

/**
 * Masks a phone number the way the server does for agents (`138****8000`): the last four
 * digits stay, a Chinese mobile keeps its first three. Used where the UI would otherwise show
 * a number that came unmasked (a live call's far end) to someone without PII rights.
 */
export function maskNumber(raw: string | null | undefined): string {
  if (!raw) return ''
  let digits = raw.replace(/^sips?:/, '').replace(/@.*$/, '').replace(/\D/g, '')
  if (digits.length === 13 && digits.startsWith('86')) digits = digits.slice(2)
  if (digits.length < 5) return raw.includes('*') ? raw : '*'.repeat(Math.max(digits.length, 4))
  if (digits.length === 11 && digits.startsWith('1')) return `${digits.slice(0, 3)}****${digits.slice(7)}`
  return '*'.repeat(digits.length - 4) + digits.slice(-4)
}
