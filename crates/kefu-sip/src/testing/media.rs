//! The RTP side of a test call: one UDP socket, a background recorder and a tone sender.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::tone::{self, SineGenerator};
use crate::media::{Digit, DigitDetector, Law, RtpPacket, SAMPLE_RATE, SAMPLES_PER_FRAME, dtmf, rtp};
use crate::sdp::{Codec, Direction, LocalMedia, NegotiatedMedia};

/// How much received audio is kept: the last two seconds.
const RING_SAMPLES: usize = 2 * SAMPLE_RATE as usize;

/// Window [`super::TestCall::wait_for_tone`] judges the audio on.
pub(crate) const TONE_WINDOW: Duration = Duration::from_millis(160);

/// Share of the energy a tone needs to count as present (two mixed tones get about 0.5 each).
pub const TONE_MIN_FRACTION: f64 = 0.25;

/// Audio quieter than this RMS holds no tone (the agent's own tones have an RMS near 5,700).
pub const TONE_MIN_RMS: f64 = 300.0;

/// Duration of the RFC 4733 events [`super::TestCall::send_dtmf`] sends: 100 ms.
const DTMF_DURATION: u16 = 800;

/// Volume of those events, −dBm0.
const DTMF_VOLUME: u8 = 10;

/// What one call's RTP socket has received so far (a snapshot).
#[derive(Debug, Clone, Default)]
pub struct Received {
    /// RTP packets of any payload type.
    pub packets: u64,
    /// G.711 packets (decoded into [`Received::samples`]).
    pub audio_packets: u64,
    /// RFC 4733 telephone-event packets.
    pub event_packets: u64,
    /// Digits recognised from telephone-events, in order, each press once.
    pub digits: String,
    /// Every address RTP came from, in order of first appearance.
    pub sources: Vec<SocketAddr>,
    /// Every payload type seen, in order of first appearance.
    pub payload_types: Vec<u8>,
    /// The last ~2 s of decoded audio (8 kHz), oldest first.
    pub samples: Vec<i16>,
    /// When the last audio packet arrived.
    pub last_audio: Option<Instant>,
}

impl Received {
    /// The last `window` of [`Received::samples`] (all of them if there are fewer).
    pub fn window(&self, window: Duration) -> &[i16] {
        let wanted = samples_in(window).min(self.samples.len());
        self.samples.get(self.samples.len() - wanted..).unwrap_or_default()
    }

    /// Goertzel power (|X(f)|²) of the last `window` of audio at `freq_hz`.
    pub fn goertzel_power(&self, freq_hz: f32, window: Duration) -> f64 {
        tone::goertzel_power(self.window(window), freq_hz)
    }

    /// Share (0–1) of the energy of the last `window` that is a tone at `freq_hz`.
    pub fn tone_fraction(&self, freq_hz: f32, window: Duration) -> f64 {
        tone::tone_fraction(self.window(window), freq_hz)
    }

    /// RMS level of the last `window` of audio.
    pub fn rms(&self, window: Duration) -> f64 {
        tone::rms(self.window(window))
    }

    /// The strongest frequency in the last `window` (10 Hz steps), unless it is near silence.
    pub fn dominant_frequency(&self, window: Duration) -> Option<f32> {
        tone::dominant_frequency(self.window(window), TONE_MIN_RMS)
    }

    /// Whether the last `window` holds a tone at `freq_hz` ([`TONE_MIN_FRACTION`] of the
    /// energy, at least [`TONE_MIN_RMS`]).
    pub fn has_tone(&self, freq_hz: f32, window: Duration) -> bool {
        tone_present(self.window(window), freq_hz)
    }
}

fn samples_in(window: Duration) -> usize {
    usize::try_from(window.as_millis().saturating_mul(u128::from(SAMPLE_RATE)) / 1000).unwrap_or(usize::MAX)
}

fn tone_present(samples: &[i16], freq_hz: f32) -> bool {
    tone::rms(samples) >= TONE_MIN_RMS && tone::tone_fraction(samples, freq_hz) >= TONE_MIN_FRACTION
}

/// What the recorder keeps.
#[derive(Debug, Default)]
struct RxState {
    packets: u64,
    audio_packets: u64,
    event_packets: u64,
    digits: String,
    detector: DigitDetector,
    sources: Vec<SocketAddr>,
    payload_types: Vec<u8>,
    ring: VecDeque<i16>,
    last_audio: Option<Instant>,
}

/// Negotiated parameters and the sender's counters.
#[derive(Debug)]
struct MediaState {
    codec: Codec,
    payload_type: u8,
    telephone_event: Option<u8>,
    remote: Option<SocketAddr>,
    /// Our direction as negotiated (whether we may send).
    direction: Direction,
    /// The direction we ask for in offers and answers (sendonly while we hold the far end).
    wanted: Direction,
    /// The direction the far end wrote in its last description.
    remote_direction: Direction,
    /// The far end does not want our media.
    remote_hold: bool,
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
    rx: RxState,
}

fn law_of(codec: Codec) -> Law {
    match codec {
        Codec::Pcmu => Law::Mu,
        Codec::Pcma => Law::A,
    }
}

/// One call's media endpoint.
#[derive(Debug)]
pub(crate) struct Media {
    socket: UdpSocket,
    local: SocketAddr,
    username: String,
    codecs: Vec<Codec>,
    session_id: u64,
    version: AtomicU64,
    state: Mutex<MediaState>,
    tone: Mutex<Option<CancellationToken>>,
    /// Ends the recorder and the tone; cancelled when the call's handle is dropped.
    pub(crate) cancel: CancellationToken,
}

impl Media {
    /// Binds a fresh socket on 127.0.0.1 and starts recording what arrives on it.
    pub(crate) async fn bind(
        username: &str,
        codecs: Vec<Codec>,
        cancel: CancellationToken,
    ) -> anyhow::Result<Arc<Self>> {
        let socket = UdpSocket::bind("127.0.0.1:0").await.context("binding an RTP socket")?;
        let local = socket.local_addr()?;
        let first = codecs.first().copied().unwrap_or(Codec::Pcmu);
        let media = Arc::new(Media {
            socket,
            local,
            username: username.to_owned(),
            codecs,
            session_id: super::random_u64() >> 1,
            version: AtomicU64::new(0),
            state: Mutex::new(MediaState {
                codec: first,
                payload_type: first.static_payload_type(),
                telephone_event: None,
                remote: None,
                direction: Direction::SendRecv,
                wanted: Direction::SendRecv,
                remote_direction: Direction::SendRecv,
                remote_hold: false,
                sequence: (super::random_u64() & 0x7fff) as u16,
                timestamp: super::random_u64() as u32,
                ssrc: super::random_u64() as u32,
                rx: RxState::default(),
            }),
            tone: Mutex::new(None),
            cancel,
        });
        tokio::spawn(record(media.clone()));
        Ok(media)
    }

    fn state(&self) -> MutexGuard<'_, MediaState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn local(&self) -> SocketAddr {
        self.local
    }

    /// Our side of offer/answer, with a new session version; `direction` overrides the one we
    /// want for this description only.
    pub(crate) fn local_media(&self, direction: Option<Direction>) -> LocalMedia {
        let version = self.version.fetch_add(1, Ordering::Relaxed) + 1;
        let mut local = LocalMedia::new(self.local.ip(), self.local.port(), self.session_id, version);
        local.codecs = self.codecs.clone();
        local.username = self.username.clone();
        local.direction = direction.unwrap_or_else(|| self.state().wanted);
        local
    }

    /// Sets the direction we ask for from now on.
    pub(crate) fn set_wanted(&self, direction: Direction) {
        self.state().wanted = direction;
    }

    /// Takes the outcome of an offer/answer exchange.
    pub(crate) fn apply(&self, negotiated: &NegotiatedMedia, remote_direction: Direction) {
        let mut state = self.state();
        state.codec = negotiated.codec;
        state.payload_type = negotiated.payload_type;
        state.telephone_event = negotiated.telephone_event;
        state.remote = negotiated.remote_rtp;
        state.direction = negotiated.direction;
        state.remote_direction = remote_direction;
        state.remote_hold = negotiated.remote_hold;
    }

    pub(crate) fn codec(&self) -> Codec {
        self.state().codec
    }

    pub(crate) fn remote(&self) -> Option<SocketAddr> {
        self.state().remote
    }

    pub(crate) fn direction(&self) -> Direction {
        self.state().direction
    }

    pub(crate) fn remote_direction(&self) -> Direction {
        self.state().remote_direction
    }

    pub(crate) fn remote_hold(&self) -> bool {
        self.state().remote_hold
    }

    pub(crate) fn received(&self) -> Received {
        let state = self.state();
        let rx = &state.rx;
        Received {
            packets: rx.packets,
            audio_packets: rx.audio_packets,
            event_packets: rx.event_packets,
            digits: rx.digits.clone(),
            sources: rx.sources.clone(),
            payload_types: rx.payload_types.clone(),
            samples: rx.ring.iter().copied().collect(),
            last_audio: rx.last_audio,
        }
    }

    /// Whether the recent audio holds `freq_hz`: audio arrived in the last 200 ms and the
    /// last [`TONE_WINDOW`] of it has the tone.
    pub(crate) fn hears(&self, freq_hz: f32) -> bool {
        let state = self.state();
        let rx = &state.rx;
        let fresh = rx.last_audio.is_some_and(|at| at.elapsed() < Duration::from_millis(200));
        let wanted = samples_in(TONE_WINDOW);
        if !fresh || rx.ring.len() < wanted {
            return false;
        }
        let window: Vec<i16> = rx.ring.iter().skip(rx.ring.len() - wanted).copied().collect();
        drop(state);
        tone_present(&window, freq_hz)
    }

    /// Digits received so far.
    pub(crate) fn digits(&self) -> String {
        self.state().rx.digits.clone()
    }

    /// Handles one datagram from the socket.
    fn on_datagram(&self, datagram: &[u8], from: SocketAddr) {
        if rtp::is_rtcp(datagram) {
            return;
        }
        let Ok(packet) = RtpPacket::parse(datagram) else {
            return;
        };
        let mut state = self.state();
        let audio_law = if packet.payload_type == state.payload_type {
            Some(law_of(state.codec))
        } else {
            Law::from_payload_type(packet.payload_type)
        };
        let is_event = state
            .telephone_event
            .map_or(packet.payload_type == crate::media::PT_TELEPHONE_EVENT, |pt| pt == packet.payload_type);
        let rx = &mut state.rx;
        rx.packets += 1;
        if !rx.sources.contains(&from) {
            rx.sources.push(from);
        }
        if !rx.payload_types.contains(&packet.payload_type) {
            rx.payload_types.push(packet.payload_type);
        }
        if is_event {
            rx.event_packets += 1;
            if let Ok(Some(digit)) = rx.detector.push(packet.timestamp, packet.marker, packet.payload) {
                rx.digits.push(digit.as_char());
            }
        } else if let Some(law) = audio_law {
            rx.audio_packets += 1;
            rx.ring.extend(packet.payload.iter().map(|&code| law.decode(code)));
            let excess = rx.ring.len().saturating_sub(RING_SAMPLES);
            rx.ring.drain(..excess);
            rx.last_audio = Some(Instant::now());
        }
    }

    /// The next audio packet carrying `pcm` and where to send it; `None` (the clock still
    /// advances) while there is nowhere to send or we must not send.
    fn audio_packet(&self, pcm: &[i16]) -> Option<(Vec<u8>, SocketAddr)> {
        let mut state = self.state();
        let timestamp = state.timestamp;
        state.timestamp = timestamp.wrapping_add(SAMPLES_PER_FRAME as u32);
        let remote = state.remote.filter(|_| state.direction.sends())?;
        let mut payload = Vec::with_capacity(pcm.len());
        law_of(state.codec).encode_into(pcm, &mut payload);
        state.sequence = state.sequence.wrapping_add(1);
        let packet = RtpPacket::new(state.payload_type, state.sequence, timestamp, state.ssrc, &payload);
        packet.to_vec().ok().map(|bytes| (bytes, remote))
    }

    /// Starts (or retunes) the background tone: one 20 ms G.711 packet every 20 ms.
    pub(crate) fn start_tone(self: &Arc<Self>, freq_hz: f32) {
        let token = self.cancel.child_token();
        let previous = self.tone.lock().unwrap_or_else(|p| p.into_inner()).replace(token.clone());
        if let Some(previous) = previous {
            previous.cancel();
        }
        let media = self.clone();
        tokio::spawn(async move {
            let mut generator = SineGenerator::new(freq_hz);
            let mut pcm = [0i16; SAMPLES_PER_FRAME];
            let mut ticks = tokio::time::interval(Duration::from_millis(20));
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    _ = ticks.tick() => {}
                }
                generator.fill(&mut pcm);
                if let Some((bytes, to)) = media.audio_packet(&pcm) {
                    // A lost datagram is what RTP is for; keep the clock going.
                    let _ = media.socket.send_to(&bytes, to).await;
                }
            }
        });
    }

    pub(crate) fn stop_tone(&self) {
        if let Some(token) = self.tone.lock().unwrap_or_else(|p| p.into_inner()).take() {
            token.cancel();
        }
    }

    /// Sends one key press as RFC 4733 events, 20 ms apart (about 140 ms).
    pub(crate) async fn send_dtmf(&self, digit: char) -> anyhow::Result<()> {
        let digit = Digit::from_char(digit).ok_or_else(|| anyhow!("{digit:?} is not a DTMF key"))?;
        let (payload_type, start) = {
            let state = self.state();
            let pt = state.telephone_event.ok_or_else(|| anyhow!("telephone-event was not negotiated"))?;
            (pt, state.timestamp)
        };
        for (i, event) in dtmf::digit_packets(digit, DTMF_DURATION, DTMF_VOLUME).iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let (bytes, to) = {
                let mut state = self.state();
                let to = state.remote.ok_or_else(|| anyhow!("no remote RTP address"))?;
                state.sequence = state.sequence.wrapping_add(1);
                let mut packet = RtpPacket::new(payload_type, state.sequence, start, state.ssrc, &event.payload);
                packet.marker = event.marker;
                (packet.to_vec()?, to)
            };
            self.socket.send_to(&bytes, to).await.context("sending a telephone-event")?;
        }
        // The next event must start at a later timestamp even when no tone moved the clock.
        let mut state = self.state();
        if state.timestamp.wrapping_sub(start) < u32::from(DTMF_DURATION) {
            state.timestamp = start.wrapping_add(u32::from(DTMF_DURATION));
        }
        Ok(())
    }
}

/// The recorder: reads the socket until the call's media is cancelled.
async fn record(media: Arc<Media>) {
    let mut buf = vec![0u8; 2048];
    loop {
        let received = tokio::select! {
            () = media.cancel.cancelled() => return,
            r = media.socket.recv_from(&mut buf) => r,
        };
        match received {
            Ok((len, from)) => media.on_datagram(buf.get(..len).unwrap_or_default(), from),
            // ICMP errors surface on some platforms; do not spin on them.
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}
