//! Per-leg state inside a session task: the outgoing RTP stream, received audio, digits.

use std::collections::VecDeque;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::super::dtmf::{Digit, DigitDetector, EventPacket, TelephoneEvent, digit_packets};
use super::super::g711::Law;
use super::super::rtp::{RtpPacket, seq_after};
use super::super::{Frame, SAMPLE_RATE, SAMPLES_PER_FRAME};
use super::ports::RtpSocket;
use super::{LegId, LegMedia, Source};

/// Received audio kept for mixing and recording, at most this many frames (100 ms).
const FIFO_FRAMES: usize = 5;
/// Duration of a digit sent with [`super::MediaSession::send_digit`], in samples (100 ms).
const DIGIT_DURATION: u16 = 800;
/// Volume of sent digits, -dBm0.
const DIGIT_VOLUME: u8 = 10;

/// A hard-to-guess 64-bit value for SSRCs and initial sequence numbers and timestamps.
pub(super) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.finish()
}

/// Samples at 8 kHz in `d`, saturating.
fn samples_in(d: Duration) -> u32 {
    u32::try_from(d.as_micros() * u128::from(SAMPLE_RATE) / 1_000_000).unwrap_or(u32::MAX)
}

/// Header fields of one outgoing packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    pub(super) marker: bool,
    pub(super) sequence: u16,
    pub(super) timestamp: u32,
}

/// The RTP stream the engine sends to one leg: one SSRC, one sequence, one timeline, whatever
/// the source (relayed packets, prompts, the mix, digits).
///
/// Relayed packets keep their sender's sequence and timestamp spacing (so loss and reordering
/// stay visible to the receiver) through offsets fixed when the relayed stream starts; every
/// section start (a new source or a new incoming SSRC) continues right after the last packet
/// sent, with the timestamp advanced by the wall-clock time since then and the marker bit set.
#[derive(Debug)]
pub(super) struct OutStream {
    pub(super) ssrc: u32,
    /// Highest sequence number sent.
    seq: u16,
    /// Timestamp of the packet with that sequence number.
    ts: u32,
    /// Samples that packet covered.
    last_len: u32,
    /// When the last packet was sent.
    last_at: Option<Instant>,
    /// The moment timestamp `ts` stands for (the start of an event for telephone-events).
    ts_time: Option<Instant>,
    /// The (leg, incoming SSRC) the relay offsets belong to.
    relay: Option<(LegId, u32)>,
    seq_off: u16,
    ts_off: u32,
    /// The next packet starts a section: marker bit, timeline re-derived from the clock.
    fresh: bool,
}

impl OutStream {
    pub(super) fn new() -> Self {
        let r = random_u64();
        // Truncations pick independent bits of the random value.
        Self {
            ssrc: r as u32,
            seq: (r >> 32) as u16,
            ts: (random_u64() as u32) & !0xFFFF,
            last_len: 0,
            last_at: None,
            ts_time: None,
            relay: None,
            seq_off: 0,
            ts_off: 0,
            fresh: true,
        }
    }

    /// A new section starts with the next packet (source switch, codec change, end of digits).
    pub(super) fn switch(&mut self) {
        self.relay = None;
        self.fresh = true;
    }

    /// The timestamp a section starting `now` gets: after the last packet, and as far after it
    /// as the time that passed since the moment its timestamp stands for.
    fn resume_ts(&self, now: Instant) -> u32 {
        match self.ts_time {
            None => self.ts,
            Some(at) => self.ts.wrapping_add(self.last_len.max(samples_in(now.saturating_duration_since(at)))),
        }
    }

    fn record(&mut self, h: Header, samples: u32, now: Instant, ts_time: Instant) {
        if self.last_at.is_none() || seq_after(h.sequence, self.seq) {
            self.seq = h.sequence;
            self.ts = h.timestamp;
            self.last_len = samples;
            self.ts_time = Some(ts_time);
        }
        self.last_at = Some(now);
    }

    /// Header for a packet the engine generates (prompt, mix, silence) carrying `samples`.
    pub(super) fn local(&mut self, samples: u32, now: Instant) -> Header {
        let fresh = std::mem::take(&mut self.fresh) || self.relay.is_some();
        self.relay = None;
        let timestamp =
            if fresh || self.last_at.is_none() { self.resume_ts(now) } else { self.ts.wrapping_add(self.last_len) };
        let h = Header { marker: fresh, sequence: self.seq.wrapping_add(1), timestamp };
        self.record(h, samples, now, now);
        h
    }

    /// Header for relaying `packet` (G.711: one sample per payload byte) from leg `from`.
    pub(super) fn relayed(&mut self, from: LegId, packet: &RtpPacket<'_>, now: Instant) -> Header {
        let mut start = std::mem::take(&mut self.fresh);
        if self.relay != Some((from, packet.ssrc)) {
            self.seq_off = self.seq.wrapping_add(1).wrapping_sub(packet.sequence);
            self.ts_off = self.resume_ts(now).wrapping_sub(packet.timestamp);
            self.relay = Some((from, packet.ssrc));
            start = true;
        }
        let h = Header {
            marker: start || packet.marker,
            sequence: packet.sequence.wrapping_add(self.seq_off),
            timestamp: packet.timestamp.wrapping_add(self.ts_off),
        };
        self.record(h, u32::try_from(packet.payload.len()).unwrap_or(u32::MAX), now, now);
        h
    }

    /// Header for one telephone-event packet of an event that started at `start_ts`.
    fn event(&mut self, start: (u32, Instant), marker: bool, duration: u16, now: Instant) -> Header {
        self.relay = None;
        self.fresh = false;
        let h = Header { marker, sequence: self.seq.wrapping_add(1), timestamp: start.0 };
        self.record(h, u32::from(duration), now, start.1);
        h
    }
}

/// Decoded audio received on a leg, consumed one frame per tick by the mixer and the recorder.
///
/// Arrival order, no reordering; an empty buffer at a tick is a silent frame, and more than
/// [`FIFO_FRAMES`] frames (a burst, or a sender clock faster than ours) drops the oldest. A
/// partial frame (10 ms packets) is kept for one more tick before it is padded out.
#[derive(Debug)]
pub(super) struct PcmFifo {
    samples: VecDeque<i16>,
    partial_waited: bool,
}

impl PcmFifo {
    pub(super) fn new() -> Self {
        Self { samples: VecDeque::with_capacity((FIFO_FRAMES + 2) * SAMPLES_PER_FRAME), partial_waited: false }
    }

    pub(super) fn push(&mut self, law: Law, payload: &[u8]) {
        let cap = FIFO_FRAMES * SAMPLES_PER_FRAME;
        let payload = payload.get(payload.len().saturating_sub(cap)..).unwrap_or(payload);
        let excess = (self.samples.len() + payload.len()).saturating_sub(cap);
        self.samples.drain(..excess.min(self.samples.len()));
        self.samples.extend(payload.iter().map(|&c| law.decode(c)));
    }

    /// Fills `frame` with the next 20 ms; false (and `frame` untouched) when there is nothing to give.
    pub(super) fn pop(&mut self, frame: &mut Frame) -> bool {
        let n = self.samples.len();
        if n == 0 || (n < SAMPLES_PER_FRAME && !self.partial_waited) {
            self.partial_waited = n > 0;
            return false;
        }
        self.partial_waited = false;
        let take = n.min(SAMPLES_PER_FRAME);
        for (dst, src) in frame.iter_mut().zip(self.samples.drain(..take)) {
            *dst = src;
        }
        if let Some(rest) = frame.get_mut(take..) {
            rest.fill(0);
        }
        true
    }
}

/// Digits queued for RFC 4733 transmission to a leg, sent one packet per tick.
#[derive(Debug, Default)]
pub(super) struct DigitSender {
    queue: VecDeque<Digit>,
    /// Packets of the digit being sent, the next index, and the event's start (timestamp, time).
    current: Option<(Vec<EventPacket>, usize, (u32, Instant))>,
}

impl DigitSender {
    pub(super) fn active(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty()
    }

    pub(super) fn push(&mut self, digit: Digit) {
        self.queue.push_back(digit);
    }

    /// The next telephone-event packet (header and payload), advancing the queue.
    pub(super) fn next(&mut self, out: &mut OutStream, now: Instant) -> Option<(Header, [u8; 4])> {
        if self.current.is_none() {
            let digit = self.queue.pop_front()?;
            let start = (out.resume_ts(now), now);
            self.current = Some((digit_packets(digit, DIGIT_DURATION, DIGIT_VOLUME), 0, start));
        }
        let (packets, index, start) = self.current.as_mut()?;
        let packet = packets.get(*index).copied();
        *index += 1;
        let start = *start;
        let last = *index >= packets.len();
        if last {
            self.current = None;
        }
        let packet = packet?;
        let duration = TelephoneEvent::parse(&packet.payload).map_or(0, |e| e.duration);
        let header = out.event(start, packet.marker, duration, now);
        if last && self.queue.is_empty() {
            // Audio resumes as a new section after the event.
            out.switch();
        }
        Some((header, packet.payload))
    }
}

/// One leg of a session as the task sees it.
#[derive(Debug)]
pub(super) struct Leg {
    pub(super) id: LegId,
    pub(super) socket: RtpSocket,
    /// Where the SDP said to send.
    pub(super) sdp_remote: Option<SocketAddr>,
    /// Where packets actually come from (symmetric RTP); preferred once known.
    pub(super) latched: Option<SocketAddr>,
    pub(super) law: Law,
    pub(super) payload_type: u8,
    pub(super) telephone_event: Option<u8>,
    /// What this leg hears.
    pub(super) source: Source,
    /// Next sample of a [`Source::Play`].
    pub(super) play_pos: usize,
    pub(super) detector: DigitDetector,
    pub(super) in_ssrc: Option<u32>,
    /// Consecutive receive errors; the leg stops listening after too many.
    pub(super) rx_errors: u32,
    pub(super) rx_disabled: bool,
    /// Received audio, kept only while a mix or the recorder needs it.
    pub(super) pcm: Option<PcmFifo>,
    /// This tick's received frame, valid when `frame_valid`.
    pub(super) frame: Frame,
    pub(super) frame_valid: bool,
    pub(super) out: OutStream,
    pub(super) digits: DigitSender,
}

impl Leg {
    pub(super) fn new(media: LegMedia) -> Self {
        Self {
            id: media.id,
            socket: media.socket,
            sdp_remote: media.remote,
            latched: None,
            law: media.law,
            payload_type: media.payload_type,
            telephone_event: media.telephone_event,
            source: Source::Silence,
            play_pos: 0,
            detector: DigitDetector::new(),
            in_ssrc: None,
            rx_errors: 0,
            rx_disabled: false,
            pcm: None,
            frame: [0; SAMPLES_PER_FRAME],
            frame_valid: false,
            out: OutStream::new(),
            digits: DigitSender::default(),
        }
    }

    /// Where to send: the latched source address, else the SDP one.
    pub(super) fn dest(&self) -> Option<SocketAddr> {
        self.latched.or(self.sdp_remote)
    }

    /// Whether what this leg hears needs the 20 ms clock.
    pub(super) fn needs_clock(&self) -> bool {
        self.digits.active()
            || match self.source {
                Source::Leg(_) => false,
                Source::Silence => self.dest().is_some(),
                Source::Mix(_) | Source::Play { .. } => true,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_packets_follow_each_other_and_sections_follow_the_clock() {
        let mut out = OutStream::new();
        let t0 = Instant::now();
        let a = out.local(160, t0);
        assert!(a.marker);
        let b = out.local(160, t0 + Duration::from_millis(20));
        assert_eq!((b.marker, b.sequence, b.timestamp), (false, a.sequence.wrapping_add(1), a.timestamp + 160));
        // A relayed stream after one second of nothing: next sequence, timestamp one second on.
        let r = out.relayed(LegId(1), &RtpPacket::new(0, 5000, 77, 9, &[0; 160]), t0 + Duration::from_millis(1020));
        assert_eq!((r.marker, r.sequence, r.timestamp), (true, b.sequence.wrapping_add(1), b.timestamp + 8000));
        // Its gaps and reordering are kept.
        let r2 =
            out.relayed(LegId(1), &RtpPacket::new(0, 5002, 77 + 320, 9, &[0; 160]), t0 + Duration::from_millis(1060));
        let r1 =
            out.relayed(LegId(1), &RtpPacket::new(0, 5001, 77 + 160, 9, &[0; 160]), t0 + Duration::from_millis(1061));
        assert_eq!(r2.sequence, r.sequence.wrapping_add(2));
        assert_eq!(r1.sequence, r.sequence.wrapping_add(1));
        assert_eq!((r1.marker, r2.marker, r1.timestamp), (false, false, r.timestamp + 160));
        // A new SSRC on the same leg is a new section, with no jump in sequence.
        let n = out.relayed(LegId(1), &RtpPacket::new(0, 1, 123_456, 10, &[0; 160]), t0 + Duration::from_millis(1080));
        assert_eq!((n.marker, n.sequence), (true, r2.sequence.wrapping_add(1)));
        assert_eq!(n.timestamp, r2.timestamp + 160);
        // And back to local audio.
        out.switch();
        let l = out.local(160, t0 + Duration::from_millis(1100));
        assert_eq!((l.marker, l.sequence, l.timestamp), (true, n.sequence.wrapping_add(1), n.timestamp + 160));
    }

    #[test]
    fn fifo_pops_whole_frames_and_drops_the_oldest_on_overflow() {
        let mut fifo = PcmFifo::new();
        let mut frame = [7i16; SAMPLES_PER_FRAME];
        assert!(!fifo.pop(&mut frame));
        assert_eq!(frame[0], 7);
        for k in 0..8u8 {
            fifo.push(Law::A, &[k.wrapping_mul(16) ^ 0x55; SAMPLES_PER_FRAME]);
        }
        // Only the last five frames survive.
        for k in 3..8u8 {
            assert!(fifo.pop(&mut frame));
            assert_eq!(frame[0], Law::A.decode(k.wrapping_mul(16) ^ 0x55));
        }
        assert!(!fifo.pop(&mut frame));
        // A half frame waits one tick, then comes out padded.
        fifo.push(Law::Mu, &[0x80; 80]);
        assert!(!fifo.pop(&mut frame));
        assert!(fifo.pop(&mut frame));
        assert_eq!((frame[79], frame[80]), (Law::Mu.decode(0x80), 0));
    }

    #[test]
    fn digits_share_a_timestamp_and_use_the_stream_sequence() {
        let mut out = OutStream::new();
        let mut sender = DigitSender::default();
        let t0 = Instant::now();
        let audio = out.local(160, t0);
        sender.push(Digit::from_char('4').unwrap_or_else(|| unreachable!()));
        let mut headers = Vec::new();
        let mut k = 1;
        while let Some((h, payload)) = sender.next(&mut out, t0 + Duration::from_millis(20 * k)) {
            headers.push((h, TelephoneEvent::parse(&payload).unwrap()));
            k += 1;
        }
        assert_eq!(headers.len(), 7);
        assert!(headers.iter().all(|(h, e)| h.timestamp == audio.timestamp + 160 && e.event == 4));
        assert!(headers[0].0.marker && headers.iter().skip(1).all(|(h, _)| !h.marker));
        for (i, (h, _)) in headers.iter().enumerate() {
            assert_eq!(h.sequence, audio.sequence.wrapping_add(1 + i as u16));
        }
        assert!(!sender.active());
        // Audio after the event is a new section, as far after the event's start as time went.
        let after = out.local(160, t0 + Duration::from_millis(20 * k));
        assert!(after.marker);
        assert_eq!(after.timestamp, audio.timestamp + 160 + 8 * 20 * (k as u32 - 1));
    }
}
