#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The engine over real UDP sockets on 127.0.0.1: phones are plain sockets speaking RTP.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::time::{Instant, sleep, timeout};

use super::*;
use crate::media::dtmf::{DigitDetector, digit_packets};
use crate::media::rtp::RtpPacket;
use crate::media::wav::WavHeader;
use crate::media::{PT_PCMA, PT_PCMU, PT_TELEPHONE_EVENT, SAMPLES_PER_FRAME};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A fresh engine on its own 64-port slice of 30000–39999, so parallel tests never share ports.
fn engine() -> MediaEngine {
    static NEXT: AtomicU16 = AtomicU16::new(30_000);
    let port_min = NEXT.fetch_add(64, Ordering::Relaxed);
    MediaEngine::new(MediaConfig { bind_ip: LOCALHOST, port_min, port_max: port_min + 63 })
}

/// A received RTP packet, owned.
#[derive(Debug, Clone)]
struct Rx {
    marker: bool,
    pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    payload: Vec<u8>,
}

/// A softphone: a socket sending and receiving RTP.
struct Phone {
    socket: UdpSocket,
    ssrc: u32,
    seq: u16,
    ts: u32,
}

impl Phone {
    async fn new(ssrc: u32) -> Self {
        Self { socket: UdpSocket::bind((LOCALHOST, 0)).await.unwrap(), ssrc, seq: 1000, ts: 50_000 }
    }

    fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// Sends one 20 ms audio packet of `payload` to `to`.
    async fn send(&mut self, to: SocketAddr, pt: u8, payload: &[u8]) {
        let bytes = RtpPacket::new(pt, self.seq, self.ts, self.ssrc, payload).to_vec().unwrap();
        self.socket.send_to(&bytes, to).await.unwrap();
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(SAMPLES_PER_FRAME as u32);
    }

    async fn send_raw(&self, to: SocketAddr, bytes: &[u8]) {
        self.socket.send_to(bytes, to).await.unwrap();
    }

    /// The next RTP packet within `wait`.
    async fn recv(&self, wait: Duration) -> Option<Rx> {
        let mut buf = [0u8; 2048];
        let (len, _) = timeout(wait, self.socket.recv_from(&mut buf)).await.ok()?.unwrap();
        let p = RtpPacket::parse(&buf[..len]).unwrap();
        Some(Rx {
            marker: p.marker,
            pt: p.payload_type,
            seq: p.sequence,
            ts: p.timestamp,
            ssrc: p.ssrc,
            payload: p.payload.to_vec(),
        })
    }

    /// Every packet that arrives within `window`.
    async fn collect_for(&self, window: Duration) -> Vec<Rx> {
        let end = Instant::now() + window;
        let mut all = Vec::new();
        while let Some(p) = self.recv(end.saturating_duration_since(Instant::now())).await {
            all.push(p);
        }
        all
    }

    /// Every packet until `wait` passes with nothing new.
    async fn drain(&self, wait: Duration) -> Vec<Rx> {
        let mut all = Vec::new();
        while let Some(p) = self.recv(wait).await {
            all.push(p);
        }
        all
    }
}

fn leg(id: u64, socket: RtpSocket, remote: SocketAddr, law: Law) -> LegMedia {
    LegMedia {
        id: LegId(id),
        socket,
        remote: Some(remote),
        law,
        payload_type: law.payload_type(),
        telephone_event: Some(PT_TELEPHONE_EVENT),
    }
}

/// A session with two legs, 1 (µ-law unless said) and 2, each hearing the other.
struct Call {
    engine: MediaEngine,
    session: MediaSession,
    events: UnboundedReceiver<MediaEvent>,
    a: Phone,
    b: Phone,
    a_port: SocketAddr,
    b_port: SocketAddr,
}

async fn call(law_a: Law, law_b: Law) -> Call {
    let engine = engine();
    let (tx, events) = unbounded_channel();
    let session = engine.session(tx);
    let (a, b) = (Phone::new(0xAAAA_0001).await, Phone::new(0xBBBB_0002).await);
    let (sa, sb) = (engine.allocate().await.unwrap(), engine.allocate().await.unwrap());
    let (a_port, b_port) = (sa.local_addr(), sb.local_addr());
    session.add_leg(leg(1, sa, a.addr(), law_a));
    session.add_leg(leg(2, sb, b.addr(), law_b));
    session.route(LegId(1), Source::Leg(LegId(2)));
    session.route(LegId(2), Source::Leg(LegId(1)));
    Call { engine, session, events, a, b, a_port, b_port }
}

/// Events that arrive within `wait` of each other.
async fn events(rx: &mut UnboundedReceiver<MediaEvent>, wait: Duration) -> Vec<MediaEvent> {
    let mut all = Vec::new();
    while let Ok(Some(e)) = timeout(wait, rx.recv()).await {
        all.push(e);
    }
    all
}

fn frame_of(law: Law, pcm: &[i16]) -> Vec<u8> {
    let mut out = Vec::new();
    law.encode_into(pcm, &mut out);
    out
}

/// `n` samples of a sine at `hz`, amplitude `amp`, from sample `start`.
fn tone(hz: f64, amp: f64, start: usize, n: usize) -> Vec<i16> {
    (start..start + n)
        .map(|i| (amp * (2.0 * std::f64::consts::PI * hz * i as f64 / 8000.0).sin()).round() as i16)
        .collect()
}

#[tokio::test]
async fn relays_both_ways_with_its_own_ssrc_and_sequence() {
    let mut c = call(Law::Mu, Law::Mu).await;
    let payloads: Vec<Vec<u8>> = (0..10u8).map(|k| vec![k.wrapping_mul(25); SAMPLES_PER_FRAME]).collect();
    for p in &payloads {
        c.a.send(c.a_port, PT_PCMU, p).await;
    }
    for p in &payloads {
        c.b.send(c.b_port, PT_PCMU, p).await;
    }
    for (phone, sender_ssrc) in [(&c.b, c.a.ssrc), (&c.a, c.b.ssrc)] {
        let got = phone.drain(Duration::from_millis(300)).await;
        assert_eq!(got.len(), 10, "{got:?}");
        assert_eq!(got.iter().map(|p| p.payload.clone()).collect::<Vec<_>>(), payloads);
        assert!(got.iter().all(|p| p.pt == PT_PCMU && p.ssrc == got[0].ssrc && p.ssrc != sender_ssrc));
        for (k, p) in got.iter().enumerate() {
            assert_eq!(p.seq, got[0].seq.wrapping_add(k as u16));
            assert_eq!(p.ts, got[0].ts.wrapping_add(160 * k as u32));
            assert_eq!(p.marker, k == 0, "marker on the first packet of the relay only");
        }
    }
    assert_eq!(c.engine.active_sessions(), 1);
    assert_eq!(c.engine.packets(), (20, 20), "20 received, 20 relayed");
    assert!(c.session.close().await.is_none());
    assert_eq!(c.engine.active_sessions(), 0);
}

#[tokio::test]
async fn transcodes_mu_law_to_a_law() {
    let mut c = call(Law::Mu, Law::A).await;
    let pcm = tone(697.0, 12_000.0, 0, 5 * SAMPLES_PER_FRAME);
    for chunk in pcm.chunks(SAMPLES_PER_FRAME) {
        c.a.send(c.a_port, PT_PCMU, &frame_of(Law::Mu, chunk)).await;
    }
    let got = c.b.drain(Duration::from_millis(300)).await;
    assert_eq!(got.len(), 5);
    let mut decoded = Vec::new();
    for p in &got {
        assert_eq!(p.pt, PT_PCMA);
        Law::A.decode_into(&p.payload, &mut decoded);
    }
    for (&x, &y) in pcm.iter().zip(&decoded) {
        // Two G.711 quantisations: a few percent of the level, plus a small absolute floor.
        let limit = i32::from(x).abs() / 12 + 24;
        assert!((i32::from(x) - i32::from(y)).abs() <= limit, "{x} came back as {y}");
    }
    // And back: A-law from leg 2 reaches leg 1 as µ-law.
    c.b.send(c.b_port, PT_PCMA, &frame_of(Law::A, &pcm[..SAMPLES_PER_FRAME])).await;
    let back = c.a.recv(Duration::from_millis(300)).await.unwrap();
    assert_eq!(back.pt, PT_PCMU);
    let mut decoded = Vec::new();
    Law::Mu.decode_into(&back.payload, &mut decoded);
    assert!(
        pcm.iter().zip(&decoded).all(|(&x, &y)| (i32::from(x) - i32::from(y)).abs() <= i32::from(x).abs() / 12 + 24)
    );
}

#[tokio::test]
async fn sends_to_where_packets_come_from_not_to_the_sdp_address() {
    let engine = engine();
    let (tx, mut rx) = unbounded_channel();
    let session = engine.session(tx);
    let (mut a, mut b, decoy) = (Phone::new(1).await, Phone::new(2).await, Phone::new(3).await);
    let (sa, sb) = (engine.allocate().await.unwrap(), engine.allocate().await.unwrap());
    let (a_port, b_port) = (sa.local_addr(), sb.local_addr());
    // Leg 1's SDP names the decoy (a private address behind NAT, say).
    session.add_leg(leg(1, sa, decoy.addr(), Law::Mu));
    session.add_leg(leg(2, sb, b.addr(), Law::Mu));
    session.route(LegId(1), Source::Leg(LegId(2)));
    session.route(LegId(2), Source::Leg(LegId(1)));

    a.send(a_port, PT_PCMU, &[0x11; 160]).await;
    let first = events(&mut rx, Duration::from_millis(200)).await;
    assert_eq!(first, vec![MediaEvent::FirstPacket { leg: LegId(1), from: a.addr() }]);
    assert_eq!(b.recv(Duration::from_millis(300)).await.unwrap().payload, vec![0x11; 160]);

    for _ in 0..3 {
        b.send(b_port, PT_PCMU, &[0x22; 160]).await;
    }
    assert_eq!(a.drain(Duration::from_millis(200)).await.len(), 3);
    assert!(decoy.recv(Duration::from_millis(100)).await.is_none(), "nothing goes to the SDP address");

    // The phone's NAT binding changes: the leg follows, without a second FirstPacket.
    let mut moved = Phone::new(1).await;
    moved.send(a_port, PT_PCMU, &[0x33; 160]).await;
    assert_eq!(b.recv(Duration::from_millis(300)).await.unwrap().payload, vec![0x33; 160]);
    b.send(b_port, PT_PCMU, &[0x44; 160]).await;
    assert_eq!(moved.recv(Duration::from_millis(300)).await.unwrap().payload, vec![0x44; 160]);
    assert!(a.recv(Duration::from_millis(100)).await.is_none());
    // Only leg 2's own first packet since: no second report for leg 1.
    let later = events(&mut rx, Duration::from_millis(50)).await;
    assert_eq!(later, vec![MediaEvent::FirstPacket { leg: LegId(2), from: b.addr() }]);
    session.close().await;
}

#[tokio::test]
async fn rfc4733_digits_are_reported_once_and_not_relayed() {
    let mut c = call(Law::Mu, Law::Mu).await;
    let mut ts = 90_000u32;
    let mut seq = 7u16;
    for key in ['1', '5', '5', '#'] {
        for p in digit_packets(Digit::from_char(key).unwrap(), 640, 10) {
            let mut packet = RtpPacket::new(PT_TELEPHONE_EVENT, seq, ts, c.a.ssrc, &p.payload);
            packet.marker = p.marker;
            c.a.send_raw(c.a_port, &packet.to_vec().unwrap()).await;
            seq = seq.wrapping_add(1);
        }
        ts = ts.wrapping_add(2000);
    }
    let got = events(&mut c.events, Duration::from_millis(300)).await;
    let digits: String = got
        .iter()
        .filter_map(|e| match e {
            MediaEvent::Digit { leg, digit } => {
                assert_eq!(*leg, LegId(1));
                Some(digit.as_char())
            }
            _ => None,
        })
        .collect();
    assert_eq!(digits, "155#");
    assert!(c.b.recv(Duration::from_millis(100)).await.is_none(), "telephone-events are not relayed");
    c.session.close().await;
}

#[tokio::test]
async fn sends_digits_as_rfc4733_and_pauses_the_relay() {
    let mut c = call(Law::Mu, Law::Mu).await;
    c.a.send(c.a_port, PT_PCMU, &[0x55; 160]).await;
    let audio = c.b.recv(Duration::from_millis(300)).await.unwrap();
    c.session.send_digit(LegId(2), Digit::from_char('7').unwrap());
    sleep(Duration::from_millis(30)).await;
    c.a.send(c.a_port, PT_PCMU, &[0x55; 160]).await; // dropped: digits are going out to leg 2
    let got = c.b.drain(Duration::from_millis(200)).await;
    assert_eq!(got.len(), 7, "{got:?}");
    let mut detector = DigitDetector::new();
    let mut keys = String::new();
    for (k, p) in got.iter().enumerate() {
        assert_eq!((p.pt, p.ssrc, p.seq), (PT_TELEPHONE_EVENT, audio.ssrc, audio.seq.wrapping_add(1 + k as u16)));
        assert_eq!(p.ts, got[0].ts);
        keys.extend(detector.push(p.ts, p.marker, &p.payload).unwrap().map(Digit::as_char));
    }
    assert_eq!(keys, "7");
    // The relay resumes as a new section of the same stream.
    c.a.send(c.a_port, PT_PCMU, &[0x66; 160]).await;
    let after = c.b.recv(Duration::from_millis(300)).await.unwrap();
    assert_eq!(
        (after.pt, after.ssrc, after.seq, after.marker),
        (PT_PCMU, audio.ssrc, got[6].seq.wrapping_add(1), true)
    );
    assert!(after.ts.wrapping_sub(got[0].ts) >= 1120, "audio resumes after the event's time");
    c.session.close().await;
}

#[tokio::test]
async fn plays_a_prompt_then_reports_the_end_and_loops_music() {
    let mut c = call(Law::Mu, Law::A).await;
    // One second; frame k holds the constant 200 * k so order and content can be checked.
    let prompt: Arc<[i16]> = (0..8000).map(|i| (200 * (i / 160)) as i16).collect();
    let started = Instant::now();
    c.session.route(LegId(1), Source::Play { samples: Arc::clone(&prompt), looped: false });
    let done = timeout(Duration::from_secs(3), c.events.recv()).await.unwrap().unwrap();
    assert_eq!(done, MediaEvent::PlaybackDone { leg: LegId(1) });
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(950) && elapsed < Duration::from_millis(1600), "{elapsed:?}");
    let got = c.a.collect_for(Duration::from_millis(100)).await;
    assert!(got.len() > 50, "{}", got.len());
    let audio = &got[..50];
    for (k, p) in audio.iter().enumerate() {
        assert_eq!(p.payload, frame_of(Law::Mu, &prompt[160 * k..160 * (k + 1)]), "frame {k}");
        assert_eq!(p.seq, audio[0].seq.wrapping_add(k as u16));
        assert_eq!(p.ts, audio[0].ts.wrapping_add(160 * k as u32));
    }
    assert!(audio[0].marker);
    // After the prompt: comfort silence frames (µ-law zero), continuing the stream.
    assert!(got[50..].iter().all(|p| p.payload == vec![0xFF; 160] && !p.marker));
    assert_eq!(got[50].seq, audio[49].seq.wrapping_add(1));

    // Music on hold to leg 2 (A-law) keeps going past its length.
    let moh: Arc<[i16]> = tone(440.0, 5000.0, 0, 1600).into();
    c.session.route(LegId(2), Source::Play { samples: moh, looped: true });
    sleep(Duration::from_millis(600)).await;
    let got = c.b.collect_for(Duration::from_millis(60)).await;
    assert!(got.len() >= 25, "{}", got.len());
    assert!(got.iter().all(|p| p.pt == PT_PCMA && p.payload.len() == 160));
    assert!(events(&mut c.events, Duration::from_millis(50)).await.is_empty());
    c.session.close().await;
}

#[tokio::test]
async fn mix_sends_the_sum_of_two_talkers() {
    let engine = engine();
    let (tx, _rx) = unbounded_channel();
    let session = engine.session(tx);
    let mut phones = Vec::new();
    let mut ports = Vec::new();
    for id in 1..=3u64 {
        let phone = Phone::new(id as u32).await;
        let socket = engine.allocate().await.unwrap();
        ports.push(socket.local_addr());
        session.add_leg(leg(id, socket, phone.addr(), Law::Mu));
        phones.push(phone);
    }
    // Caller and agent talk to each other; the supervisor (3) listens to both.
    session.route(LegId(1), Source::Leg(LegId(2)));
    session.route(LegId(2), Source::Leg(LegId(1)));
    session.route(LegId(3), Source::Mix(vec![LegId(1), LegId(2)]));
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for _ in 0..40 {
        tick.tick().await;
        phones[0].send(ports[0], PT_PCMU, &frame_of(Law::Mu, &[1000; 160])).await;
        phones[1].send(ports[1], PT_PCMU, &frame_of(Law::Mu, &[2000; 160])).await;
    }
    let got = phones[2].collect_for(Duration::from_millis(100)).await;
    let levels: Vec<i16> = got.iter().map(|p| Law::Mu.decode(p.payload[80])).collect();
    let both = levels.iter().filter(|&&l| (2850..=3150).contains(&l)).count();
    assert!(both >= 30, "levels heard by the supervisor: {levels:?}");
    // Every packet is one of silence, a talker alone, or the sum.
    assert!(levels.iter().all(|&l| [0, 1000, 2000, 3000].iter().any(|&v| (i32::from(l) - v).abs() <= 150)));
    session.close().await;
}

/// Power of `samples` at `hz` (Goertzel).
fn power_at(samples: &[i16], hz: f64) -> f64 {
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * hz / 8000.0).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

#[tokio::test]
async fn records_caller_left_and_agent_right() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("call.wav");
    let mut c = call(Law::Mu, Law::A).await;
    assert!(c.session.stop_recording().await.is_none());
    c.session.start_recording(path.clone(), LegId(1), LegId(2));
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let frames = 50;
    for k in 0..frames {
        tick.tick().await;
        let caller = tone(440.0, 8000.0, k * 160, 160);
        let agent = tone(1300.0, 8000.0, k * 160, 160);
        c.a.send(c.a_port, PT_PCMU, &frame_of(Law::Mu, &caller)).await;
        c.b.send(c.b_port, PT_PCMA, &frame_of(Law::A, &agent)).await;
    }
    sleep(Duration::from_millis(60)).await;
    let info = c.session.stop_recording().await.unwrap().unwrap();
    assert!(info.duration >= Duration::from_millis(950) && info.duration <= Duration::from_millis(1400), "{info:?}");

    let bytes = std::fs::read(&path).unwrap();
    let h = WavHeader::parse(&bytes).unwrap();
    assert_eq!((h.channels, h.sample_rate, h.bits_per_sample), (2, 8000, 16));
    assert_eq!(u64::from(h.data_len), info.frames * 4);
    assert_eq!(bytes.len() as u64, info.size);
    let data = h.data(&bytes).unwrap();
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for f in data.chunks_exact(4) {
        left.push(i16::from_le_bytes([f[0], f[1]]));
        right.push(i16::from_le_bytes([f[2], f[3]]));
    }
    let voiced = |ch: &[i16]| ch.chunks(160).filter(|f| f.iter().any(|&s| s.abs() > 1000)).count();
    assert!(voiced(&left) >= 45 && voiced(&right) >= 45, "{} {}", voiced(&left), voiced(&right));
    assert!(power_at(&left, 440.0) > 100.0 * power_at(&left, 1300.0), "left is the caller's 440 Hz");
    assert!(power_at(&right, 1300.0) > 100.0 * power_at(&right, 440.0), "right is the agent's 1300 Hz");
    // Relaying went on while recording.
    assert!(c.b.drain(Duration::from_millis(50)).await.len() >= 45);
    assert!(
        events(&mut c.events, Duration::from_millis(20)).await.iter().all(|e| !matches!(e, MediaEvent::Error { .. }))
    );
    assert!(c.session.close().await.is_none());
}

#[tokio::test]
async fn a_conference_records_the_agent_and_the_third_party_summed_on_the_right() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conference.wav");
    let mut c = call(Law::Mu, Law::A).await;
    let mut third = Phone::new(0xCCCC_0003).await;
    let socket = c.engine.allocate().await.unwrap();
    let third_port = socket.local_addr();
    c.session.add_leg(leg(3, socket, third.addr(), Law::Mu));
    c.session.start_recording(path.clone(), LegId(1), LegId(2));
    // The third party joins: the right channel is the agent and the third party together.
    c.session.set_recording_legs(LegId(1), vec![LegId(2), LegId(3)]);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for k in 0..50 {
        tick.tick().await;
        c.a.send(c.a_port, PT_PCMU, &frame_of(Law::Mu, &tone(440.0, 8000.0, k * 160, 160))).await;
        c.b.send(c.b_port, PT_PCMA, &frame_of(Law::A, &tone(1300.0, 8000.0, k * 160, 160))).await;
        third.send(third_port, PT_PCMU, &frame_of(Law::Mu, &tone(2000.0, 8000.0, k * 160, 160))).await;
    }
    // Two loud talkers at once: their sum clips at the top instead of wrapping around.
    for _ in 0..25 {
        tick.tick().await;
        c.b.send(c.b_port, PT_PCMA, &frame_of(Law::A, &[30_000; 160])).await;
        third.send(third_port, PT_PCMU, &frame_of(Law::Mu, &[30_000; 160])).await;
    }
    sleep(Duration::from_millis(60)).await;
    c.session.stop_recording().await.unwrap().unwrap();

    let bytes = std::fs::read(&path).unwrap();
    let h = WavHeader::parse(&bytes).unwrap();
    assert_eq!(h.channels, 2);
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for f in h.data(&bytes).unwrap().chunks_exact(4) {
        left.push(i16::from_le_bytes([f[0], f[1]]));
        right.push(i16::from_le_bytes([f[2], f[3]]));
    }
    let (agent, third_party, caller) = (power_at(&right, 1300.0), power_at(&right, 2000.0), power_at(&right, 440.0));
    assert!(agent > 100.0 * caller, "the agent's 1300 Hz is on the right: {agent} vs {caller}");
    assert!(third_party > 100.0 * caller, "the third party's 2000 Hz is on the right: {third_party} vs {caller}");
    assert!(power_at(&left, 440.0) > 100.0 * power_at(&left, 2000.0), "left is the caller alone");
    let clipped = right.chunks(160).filter(|f| f.iter().all(|&s| s == i16::MAX)).count();
    assert!(clipped >= 10, "summed loud frames saturate: {clipped} clipped frames");
    assert!(right.iter().all(|&s| s > -20_000), "no wrapped-around sums");
    // A recording of the agent alone (as before the conference) leaves the third party out.
    let path2 = dir.path().join("after.wav");
    c.session.start_recording(path2.clone(), LegId(1), LegId(2));
    for k in 0..25 {
        tick.tick().await;
        c.b.send(c.b_port, PT_PCMA, &frame_of(Law::A, &tone(1300.0, 8000.0, k * 160, 160))).await;
        third.send(third_port, PT_PCMU, &frame_of(Law::Mu, &tone(2000.0, 8000.0, k * 160, 160))).await;
    }
    sleep(Duration::from_millis(60)).await;
    c.session.stop_recording().await.unwrap().unwrap();
    let bytes = std::fs::read(&path2).unwrap();
    let h = WavHeader::parse(&bytes).unwrap();
    let right: Vec<i16> = h.data(&bytes).unwrap().chunks_exact(4).map(|f| i16::from_le_bytes([f[2], f[3]])).collect();
    assert!(power_at(&right, 1300.0) > 100.0 * power_at(&right, 2000.0), "only the agent once the third left");
    assert!(
        events(&mut c.events, Duration::from_millis(20)).await.iter().all(|e| !matches!(e, MediaEvent::Error { .. }))
    );
    c.session.close().await;
}

#[tokio::test]
async fn close_finishes_the_recording_and_a_bad_path_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let c = call(Law::Mu, Law::Mu).await;
    c.session.start_recording(dir.path().join("close.wav"), LegId(1), LegId(2));
    sleep(Duration::from_millis(200)).await;
    let info = c.session.close().await.unwrap().unwrap();
    assert!(info.frames >= 1000 && info.frames <= 3200, "{info:?}");
    assert_eq!(c.engine.active_sessions(), 0);
    assert!(c.session.close().await.is_none(), "a closed session reports nothing");

    let (tx, mut rx) = unbounded_channel();
    let session = c.engine.session(tx);
    session.start_recording(dir.path().join("missing-dir").join("x.wav"), LegId(1), LegId(2));
    let got = events(&mut rx, Duration::from_millis(300)).await;
    assert!(matches!(got.as_slice(), [MediaEvent::Error { .. }]), "{got:?}");
    assert!(matches!(session.stop_recording().await, Some(Err(WavError::Io(_)))));
}

#[tokio::test]
async fn a_voicemail_records_one_leg_mono_beside_the_call_recording() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("box").join("vm.wav");
    let mut c = call(Law::A, Law::Mu).await;
    assert!(c.session.stop_voicemail().await.is_none(), "nothing to stop yet");
    c.session.start_voicemail(path.clone(), LegId(1));
    c.session.start_recording(dir.path().join("call.wav"), LegId(1), LegId(2));
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for k in 0..50 {
        tick.tick().await;
        c.a.send(c.a_port, PT_PCMA, &frame_of(Law::A, &tone(440.0, 8000.0, k * 160, 160))).await;
        c.b.send(c.b_port, PT_PCMU, &frame_of(Law::Mu, &tone(1300.0, 8000.0, k * 160, 160))).await;
    }
    sleep(Duration::from_millis(60)).await;
    let info = c.session.stop_voicemail().await.unwrap().unwrap();
    assert!(info.duration >= Duration::from_millis(950) && info.duration <= Duration::from_millis(1400), "{info:?}");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len() as u64, info.size);
    let h = WavHeader::parse(&bytes).unwrap();
    assert_eq!((h.format, h.channels, h.sample_rate, h.bits_per_sample), (1, 1, 8000, 16));
    assert_eq!(u64::from(h.data_len), info.frames * 2);
    let samples: Vec<i16> = h.data(&bytes).unwrap().chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
    assert!(power_at(&samples, 440.0) > 100.0 * power_at(&samples, 1300.0), "only leg 1 is in the voicemail");
    // The call recording goes on, stereo, and is unaffected.
    let call = c.session.stop_recording().await.unwrap().unwrap();
    assert!(call.frames >= info.frames, "{call:?} {info:?}");
    assert!(
        events(&mut c.events, Duration::from_millis(20))
            .await
            .iter()
            .all(|e| !matches!(e, MediaEvent::Error { .. } | MediaEvent::VoicemailFailed { .. }))
    );

    // A path that cannot be created is reported as a voicemail failure, not a call-recording one.
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"x").unwrap();
    let bad = blocker.join("vm.wav");
    c.session.start_voicemail(bad.clone(), LegId(1));
    let got = events(&mut c.events, Duration::from_millis(300)).await;
    assert!(matches!(got.as_slice(), [MediaEvent::VoicemailFailed { path, .. }] if *path == bad), "{got:?}");
    assert!(matches!(c.session.stop_voicemail().await, Some(Err(WavError::Io(_)))));
    c.session.close().await;
}

#[tokio::test]
async fn garbage_and_rtcp_do_not_stop_the_relay() {
    let mut c = call(Law::Mu, Law::Mu).await;
    let stranger = Phone::new(9).await;
    c.a.send(c.a_port, PT_PCMU, &[0x10; 160]).await;
    assert!(c.b.recv(Duration::from_millis(300)).await.is_some());
    let receiver_report =
        [0x81, 201, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let wrong_pt = RtpPacket::new(18, 1, 2, 3, &[0u8; 20]).to_vec().unwrap();
    for bytes in [
        &receiver_report[..],
        b"hello",
        &[0x80; 11],
        &[],
        &[0xFF; 300],
        &wrong_pt[..],
        &[0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ] {
        c.a.send_raw(c.a_port, bytes).await;
        stranger.send_raw(c.a_port, bytes).await;
    }
    c.a.send(c.a_port, PT_PCMU, &[0x20; 160]).await;
    let got = c.b.drain(Duration::from_millis(200)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].payload, vec![0x20; 160]);
    // Garbage from a stranger did not move leg 1's address.
    c.b.send(c.b_port, PT_PCMU, &[0x30; 160]).await;
    assert_eq!(c.a.recv(Duration::from_millis(300)).await.unwrap().payload, vec![0x30; 160]);
    assert!(stranger.recv(Duration::from_millis(50)).await.is_none());
    c.session.close().await;
}

#[tokio::test]
async fn port_pool_runs_out_and_reuses_freed_ports() {
    let e = MediaEngine::new(MediaConfig { bind_ip: LOCALHOST, port_min: 40_001, port_max: 40_005 });
    let first = e.allocate().await.unwrap();
    let second = e.allocate().await.unwrap();
    assert_eq!((first.port(), second.port()), (40_002, 40_004));
    let err = e.allocate().await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrNotAvailable);
    assert_eq!(e.inner.ports.leased(), 2);
    drop(first);
    assert_eq!(e.allocate().await.unwrap().port(), 40_002);

    // Sockets handed to a session come back when it closes.
    let (tx, _rx) = unbounded_channel();
    let session = e.session(tx);
    session.add_leg(leg(1, second, "127.0.0.1:9".parse().unwrap(), Law::Mu));
    assert_eq!(e.inner.ports.leased(), 1);
    session.close().await;
    assert_eq!(e.inner.ports.leased(), 0);
    let again = (e.allocate().await.unwrap(), e.allocate().await.unwrap());
    assert_eq!((again.0.port() % 2, again.1.port() % 2), (0, 0));

    // A port held by someone else is skipped.
    let taken = std::net::UdpSocket::bind((LOCALHOST, 40_010)).unwrap();
    let e = MediaEngine::new(MediaConfig { bind_ip: LOCALHOST, port_min: 40_010, port_max: 40_013 });
    assert_eq!(e.allocate().await.unwrap().port(), 40_012);
    drop(taken);
}

#[tokio::test]
async fn removing_a_leg_and_late_answer() {
    let engine = engine();
    let (tx, mut rx) = unbounded_channel();
    let session = engine.session(tx);
    let (mut a, b) = (Phone::new(1).await, Phone::new(2).await);
    let (sa, sb) = (engine.allocate().await.unwrap(), engine.allocate().await.unwrap());
    let a_port = sa.local_addr();
    session.add_leg(leg(1, sa, a.addr(), Law::Mu));
    // Leg 2 has no answer yet: nothing to send to.
    session.add_leg(LegMedia {
        id: LegId(2),
        socket: sb,
        remote: None,
        law: Law::Mu,
        payload_type: 0,
        telephone_event: None,
    });
    session.route(LegId(2), Source::Leg(LegId(1)));
    session.route(LegId(1), Source::Leg(LegId(2)));
    a.send(a_port, PT_PCMU, &[1; 160]).await;
    assert!(b.recv(Duration::from_millis(150)).await.is_none());
    // The answer arrives: A-law at b.
    session.set_remote(LegId(2), Some(b.addr()), Law::A, PT_PCMA, None);
    a.send(a_port, PT_PCMU, &frame_of(Law::Mu, &[500; 160])).await;
    let p = b.recv(Duration::from_millis(300)).await.unwrap();
    assert_eq!(
        (p.pt, Law::A.decode(p.payload[0])),
        (PT_PCMA, Law::A.decode(Law::A.encode(Law::Mu.decode(Law::Mu.encode(500)))))
    );
    session.remove_leg(LegId(2));
    a.send(a_port, PT_PCMU, &[1; 160]).await;
    assert!(b.recv(Duration::from_millis(150)).await.is_none());
    assert!(matches!(events(&mut rx, Duration::from_millis(20)).await.as_slice(), [MediaEvent::FirstPacket { .. }]));
    session.close().await;
}

/// CPU per relayed call, by hand (`KEFU_LOAD_RECORDED=300` also records the first 300 calls):
/// `KEFU_LOAD_CALLS=1000 KEFU_LOAD_SECS=10 cargo test --release -p kefu-sip --lib media::engine::tests::load -- --ignored --nocapture`
///
/// The engine runs on a two-worker Tokio runtime; the phones are one plain thread sending 50
/// packets per second each way per call and reading what comes back. CPU is read per thread
/// from /proc, so the phones' share is reported apart from the engine's.
#[test]
#[ignore = "load measurement, run by hand"]
fn load() {
    let calls: usize = std::env::var("KEFU_LOAD_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let secs: u64 = std::env::var("KEFU_LOAD_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let recorded: usize = std::env::var("KEFU_LOAD_RECORDED").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("engine-worker")
        .enable_all()
        .build()
        .unwrap();
    let engine = MediaEngine::new(MediaConfig { bind_ip: LOCALHOST, port_min: 20_000, port_max: 29_999 });
    // Per call: the two phones and the engine ports they send to.
    let mut phones = Vec::with_capacity(calls);
    let mut sessions = Vec::with_capacity(calls);
    let mut receivers = Vec::with_capacity(calls);
    rt.block_on(async {
        for _ in 0..calls {
            let pa = std::net::UdpSocket::bind((LOCALHOST, 0)).unwrap();
            let pb = std::net::UdpSocket::bind((LOCALHOST, 0)).unwrap();
            pa.set_nonblocking(true).unwrap();
            pb.set_nonblocking(true).unwrap();
            let (sa, sb) = (engine.allocate().await.unwrap(), engine.allocate().await.unwrap());
            let (tx, rx) = unbounded_channel();
            receivers.push(rx);
            let session = engine.session(tx);
            let (ea, eb) = (sa.local_addr(), sb.local_addr());
            session.add_leg(leg(1, sa, pa.local_addr().unwrap(), Law::Mu));
            session.add_leg(leg(2, sb, pb.local_addr().unwrap(), Law::Mu));
            session.route(LegId(1), Source::Leg(LegId(2)));
            session.route(LegId(2), Source::Leg(LegId(1)));
            if sessions.len() < recorded {
                session.start_recording(dir.path().join(format!("{}.wav", sessions.len())), LegId(1), LegId(2));
            }
            sessions.push(session);
            phones.push((pa, ea, pb, eb));
        }
    });
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_phones = Arc::clone(&stop);
    let phones_thread = std::thread::Builder::new()
        .name("phones".into())
        .spawn(move || {
            let mut packet = RtpPacket::new(PT_PCMU, 0, 0, 0x1234, &[0xFF; 160]).to_vec().unwrap();
            let mut buf = [0u8; 2048];
            let (mut sent, mut received) = (0u64, 0u64);
            let start = std::time::Instant::now();
            let mut k: u32 = 0;
            let mut late = 0u64;
            while !stop_phones.load(Ordering::Relaxed) {
                packet[2..4].copy_from_slice(&(k as u16).to_be_bytes());
                packet[4..8].copy_from_slice(&(k * 160).to_be_bytes());
                for (pa, ea, pb, eb) in &phones {
                    sent += u64::from(pa.send_to(&packet, ea).is_ok()) + u64::from(pb.send_to(&packet, eb).is_ok());
                    while pa.recv_from(&mut buf).is_ok() {
                        received += 1;
                    }
                    while pb.recv_from(&mut buf).is_ok() {
                        received += 1;
                    }
                }
                k += 1;
                let next = start + Duration::from_millis(20) * k;
                match next.checked_duration_since(std::time::Instant::now()) {
                    Some(wait) => std::thread::sleep(wait),
                    None => late += 1,
                }
            }
            (sent, received, late, start.elapsed())
        })
        .unwrap();
    // Warm up, then measure a window.
    std::thread::sleep(Duration::from_secs(2));
    let (cpu0, machine0) = (thread_cpu(), machine_cpu());
    let t0 = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let (cpu1, machine1) = (thread_cpu(), machine_cpu());
    let wall = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let (sent, received, late, elapsed) = phones_thread.join().unwrap();
    let cpu = |prefix: &str| {
        let sum = |m: &std::collections::HashMap<String, f64>| {
            m.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v).sum::<f64>()
        };
        (sum(&cpu1) - sum(&cpu0)) / wall
    };
    let (engine_cpu, phones_cpu, recorder_cpu) = (cpu("engine-worker"), cpu("phones"), cpu("kefu-recorder"));
    let (busy, total) = (machine1.0 - machine0.0, machine1.1 - machine0.1);
    let others = busy / total * machine1.2 - cpu("");
    let rate = received as f64 / elapsed.as_secs_f64();
    println!(
        "{calls} two-leg calls ({recorded} recorded) relayed for {wall:.1} s: engine {:.1} % of one core ({:.2} ms CPU per call-second, \
         {:.2} µs per packet); phones {:.1} %; {sent} packets sent, {received} relayed back ({rate:.0}/s, \
         {:.2} % lost); phone thread late {late} times; recorder thread {:.1} %; other processes {:.0} % of one core",
        engine_cpu * 100.0,
        engine_cpu * 1000.0 / calls as f64,
        engine_cpu * 1e6 / rate,
        phones_cpu * 100.0,
        100.0 * (1.0 - received as f64 / sent as f64),
        recorder_cpu * 100.0,
        others * 100.0,
    );
    let run_for = elapsed.as_secs_f64();
    let durations: Vec<f64> = rt.block_on(async {
        let mut durations = Vec::new();
        for s in &sessions {
            if let Some(info) = s.close().await {
                durations.push(info.unwrap().duration.as_secs_f64());
            }
        }
        durations
    });
    assert_eq!(engine.active_sessions(), 0);
    assert_eq!(durations.len(), recorded);
    if let (Some(min), Some(max)) =
        (durations.iter().copied().reduce(f64::min), durations.iter().copied().reduce(f64::max))
    {
        println!("{recorded} recordings of {min:.2}-{max:.2} s (phones ran {run_for:.2} s)");
    }
}

/// CPU seconds used so far by each thread of this process, keyed by `name/tid`.
fn thread_cpu() -> std::collections::HashMap<String, f64> {
    let mut out = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let dir = entry.path();
        let (Ok(name), Ok(stat)) =
            (std::fs::read_to_string(dir.join("comm")), std::fs::read_to_string(dir.join("stat")))
        else {
            continue;
        };
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // After the command: state, ppid, … utime is field 14 of stat, stime 15 (USER_HZ = 100).
        let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
        out.insert(format!("{}/{}", name.trim(), entry.file_name().to_string_lossy()), ticks / 100.0);
    }
    out
}

/// (busy, total) jiffies of the whole machine since boot, and its number of CPUs.
fn machine_cpu() -> (f64, f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let fields: Vec<f64> =
        stat.lines().next().unwrap().split_whitespace().skip(1).map(|f| f.parse().unwrap()).collect();
    let total: f64 = fields.iter().sum();
    // user nice system idle iowait …: idle and iowait are not busy.
    let busy = total - fields[3] - fields[4];
    let cpus = stat.lines().filter(|l| l.starts_with("cpu") && !l.starts_with("cpu ")).count() as f64;
    (busy, total, cpus)
}
