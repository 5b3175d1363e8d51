// Minimal SIP endpoints for the e2e scripts. placeCalls() sends INVITEs over UDP from 127.0.0.1 (the demo
// trunk `local` accepts calls from there), answers the 200 with an ACK, keeps the calls up
// (answering BYE / OPTIONS / re-INVITE with 200) and hangs them up at the end. No media is
// sent; it only makes callers wait in queues so the wallboard has something to show.
// registerPhone() is an agent's (or supervisor's) softphone that answers every call.

import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'

const rnd = () => randomBytes(6).toString('hex')

function parse(text) {
  const [head] = text.split('\r\n\r\n')
  const lines = head.split('\r\n')
  const headers = {}
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':')
    if (i < 0) continue
    const k = l.slice(0, i).trim().toLowerCase()
    ;(headers[k] ??= []).push(l.slice(i + 1).trim())
  }
  return { first: lines[0], headers }
}

/**
 * Places `count` calls to `number` at `sip` ("127.0.0.1:port"), `gapMs` apart.
 * @returns {Promise<{ answered: number, hangup: () => Promise<void> }>}
 */
export async function placeCalls(sip, number, { count = 3, gapMs = 700, caller = (i) => `1390000${String(1000 + i)}` } = {}) {
  const [host, portText] = sip.split(':')
  const port = Number(portText)
  const sock = dgram.createSocket('udp4')
  await new Promise((r) => sock.bind(0, '127.0.0.1', r))
  const rtp = dgram.createSocket('udp4')
  await new Promise((r) => rtp.bind(0, '127.0.0.1', r))
  rtp.on('message', () => {})
  const me = sock.address().port
  const calls = new Map()
  const send = (text) => sock.send(Buffer.from(text), port, host)

  sock.on('message', (buf) => {
    const text = buf.toString()
    const { first, headers } = parse(text)
    const callId = headers['call-id']?.[0]
    const call = calls.get(callId)
    if (first.startsWith('SIP/2.0')) {
      const code = Number(first.split(' ')[1])
      const cseq = headers['cseq']?.[0] ?? ''
      if (!call || !cseq.endsWith('INVITE')) return
      if (code >= 200 && code < 300) {
        call.toHeader = headers['to'][0]
        call.answered = true
        const contact = (headers['contact']?.[0] ?? `<sip:${number}@${sip}>`).replace(/^.*<([^>]+)>.*$/, '$1')
        call.target = contact
        send(
          `ACK ${contact} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${me};branch=z9hG4bK${rnd()};rport\r\nMax-Forwards: 70\r\n` +
            `From: ${call.from}\r\nTo: ${call.toHeader}\r\nCall-ID: ${callId}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n`,
        )
      } else if (code >= 300) {
        call.failed = code
      }
      return
    }
    // a request from kefu: say yes to it (BYE ends the call)
    const reply =
      'SIP/2.0 200 OK\r\n' +
      (headers['via'] ?? []).map((v) => `Via: ${v}\r\n`).join('') +
      `From: ${headers['from']?.[0]}\r\nTo: ${headers['to']?.[0]}\r\nCall-ID: ${callId}\r\nCSeq: ${headers['cseq']?.[0]}\r\n` +
      `Content-Length: 0\r\n\r\n`
    send(reply)
    if (call && first.startsWith('BYE')) call.ended = true
  })

  for (let i = 0; i < count; i++) {
    const callId = `e2e-${rnd()}@127.0.0.1`
    const from = `<sip:${caller(i)}@127.0.0.1>;tag=${rnd()}`
    const sdp =
      `v=0\r\no=- ${Date.now()} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
      `m=audio ${rtp.address().port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n`
    calls.set(callId, { from, answered: false })
    send(
      `INVITE sip:${number}@${sip} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${me};branch=z9hG4bK${rnd()};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: ${from}\r\nTo: <sip:${number}@${sip}>\r\nCall-ID: ${callId}\r\nCSeq: 1 INVITE\r\n` +
        `Contact: <sip:${caller(i)}@127.0.0.1:${me}>\r\nContent-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(sdp)}\r\n\r\n${sdp}`,
    )
    await new Promise((r) => setTimeout(r, gapMs))
  }
  await new Promise((r) => setTimeout(r, 800))
  const answered = [...calls.values()].filter((c) => c.answered).length

  let closed = false
  const hangup = async () => {
    if (closed) return
    closed = true
    let n = 2
    for (const [callId, c] of calls) {
      if (!c.answered || c.ended) continue
      send(
        `BYE ${c.target} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${me};branch=z9hG4bK${rnd()};rport\r\nMax-Forwards: 70\r\n` +
          `From: ${c.from}\r\nTo: ${c.toHeader}\r\nCall-ID: ${callId}\r\nCSeq: ${n++} BYE\r\nContent-Length: 0\r\n\r\n`,
      )
    }
    await new Promise((r) => setTimeout(r, 300))
    sock.close()
    rtp.close()
  }
  return { answered, failed: [...calls.values()].map((c) => c.failed).filter(Boolean), hangup }
}

/**
 * A softphone for extension `ext`: registers with digest auth (SHA-256 or MD5, whichever
 * kefu offers first) and answers every INVITE at once (180 then 200 with G.711 SDP).
 * @returns {Promise<{ invites: number, close: () => Promise<void> }>}
 */
export async function registerPhone(sip, ext, password) {
  const { createHash } = await import('node:crypto')
  const [host, portText] = sip.split(':')
  const port = Number(portText)
  const sock = dgram.createSocket('udp4')
  await new Promise((r) => sock.bind(0, '127.0.0.1', r))
  const rtp = dgram.createSocket('udp4')
  await new Promise((r) => rtp.bind(0, '127.0.0.1', r))
  rtp.on('message', () => {})
  const me = sock.address().port
  const send = (text) => sock.send(Buffer.from(text), port, host)
  const callId = `reg-${rnd()}@127.0.0.1`
  const fromTag = rnd()
  const state = { invites: 0, registered: false, error: null }
  let cseq = 1
  let onRegistered
  const registered = new Promise((r) => (onRegistered = r))

  const register = (auth) =>
    send(
      `REGISTER sip:${sip} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${me};branch=z9hG4bK${rnd()};rport\r\nMax-Forwards: 70\r\n` +
        `From: <sip:${ext}@${sip}>;tag=${fromTag}\r\nTo: <sip:${ext}@${sip}>\r\nCall-ID: ${callId}\r\nCSeq: ${cseq++} REGISTER\r\n` +
        `Contact: <sip:${ext}@127.0.0.1:${me}>\r\nExpires: 300\r\n${auth ? `Authorization: ${auth}\r\n` : ''}Content-Length: 0\r\n\r\n`,
    )

  function digest(challenge) {
    const p = Object.fromEntries([...challenge.matchAll(/(\w+)="?([^",]+)"?/g)].map((m) => [m[1].toLowerCase(), m[2]]))
    const algo = (p.algorithm || 'MD5').toUpperCase()
    const h = (s) => createHash(algo.startsWith('SHA-256') ? 'sha256' : 'md5').update(s).digest('hex')
    const uri = `sip:${sip}`
    const ha1 = h(`${ext}:${p.realm}:${password}`)
    const ha2 = h(`REGISTER:${uri}`)
    const cnonce = rnd()
    const qop = p.qop ? 'auth' : null
    const response = qop ? h(`${ha1}:${p.nonce}:00000001:${cnonce}:${qop}:${ha2}`) : h(`${ha1}:${p.nonce}:${ha2}`)
    return (
      `Digest username="${ext}", realm="${p.realm}", nonce="${p.nonce}", uri="${uri}", response="${response}", algorithm=${algo}` +
      (qop ? `, qop=${qop}, nc=00000001, cnonce="${cnonce}"` : '') +
      (p.opaque ? `, opaque="${p.opaque}"` : '')
    )
  }

  sock.on('message', (buf) => {
    const text = buf.toString()
    const { first, headers } = parse(text)
    if (first.startsWith('SIP/2.0')) {
      const code = Number(first.split(' ')[1])
      if (!(headers['cseq']?.[0] ?? '').endsWith('REGISTER')) return
      if (code === 401 || code === 407) {
        const challenges = headers['www-authenticate'] ?? headers['proxy-authenticate'] ?? []
        const pick = challenges.find((c) => /SHA-256/i.test(c)) ?? challenges[0]
        if (pick && cseq <= 3) register(digest(pick))
      } else if (code >= 200 && code < 300) {
        state.registered = true
        onRegistered()
      } else if (code >= 300) {
        state.error = code
        onRegistered()
      }
      return
    }
    const echo =
      (headers['via'] ?? []).map((v) => `Via: ${v}\r\n`).join('') +
      `From: ${headers['from']?.[0]}\r\nCall-ID: ${headers['call-id']?.[0]}\r\nCSeq: ${headers['cseq']?.[0]}\r\n`
    if (first.startsWith('INVITE')) {
      state.invites++
      const to = `${headers['to']?.[0]};tag=${rnd()}`
      const sdp =
        `v=0\r\no=- ${Date.now()} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
        `m=audio ${rtp.address().port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n`
      send(`SIP/2.0 180 Ringing\r\n${echo}To: ${to}\r\nContent-Length: 0\r\n\r\n`)
      send(
        `SIP/2.0 200 OK\r\n${echo}To: ${to}\r\nContact: <sip:${ext}@127.0.0.1:${me}>\r\n` +
          `Content-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(sdp)}\r\n\r\n${sdp}`,
      )
    } else if (!first.startsWith('ACK')) {
      send(`SIP/2.0 200 OK\r\n${echo}To: ${headers['to']?.[0]}\r\nContent-Length: 0\r\n\r\n`)
    }
  })

  register(null)
  await Promise.race([registered, new Promise((r) => setTimeout(r, 5000))])
  if (!state.registered) {
    sock.close()
    rtp.close()
    throw new Error(`extension ${ext} could not register (${state.error ?? 'no answer'})`)
  }
  return {
    get invites() {
      return state.invites
    },
    close: async () => {
      if (state.closed) return
      state.closed = true
      sock.close()
      rtp.close()
    },
  }
}
