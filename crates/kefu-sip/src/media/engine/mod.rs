//! The RTP media engine: UDP sockets, relaying, prompts, the supervisor mix, digits and recording.
//!
//! A [`MediaEngine`] owns the pool of even RTP ports. Each call gets a [`MediaSession`], whose
//! task owns the call's legs ([`LegMedia`]: a socket plus what SDP negotiated) and decides, per
//! leg, what it hears ([`Source`]):
//!
//! * [`Source::Leg`] relays another leg's packets the moment they arrive, re-stamped with the
//!   receiving leg's own SSRC, sequence and timeline and transcoded between µ-law and A-law
//!   if the two legs differ. RFC 4733 digits are never relayed: they are reported as
//!   [`MediaEvent::Digit`] (a B2BUA that wants to pass digits on does so with
//!   [`MediaSession::send_digit`]).
//! * [`Source::Play`] sends a prompt or music on hold, 160 samples every 20 ms.
//! * [`Source::Mix`] sends, every 20 ms, the sum of the frames last received from some legs
//!   (supervisor listen, whisper and barge).
//! * [`Source::Silence`] sends comfort silence: a frame of encoded zero samples every 20 ms once
//!   the leg has an address. Sending something keeps NAT bindings open and keeps the peer's
//!   RTP-inactivity timer (which many phones and carriers hang up on) quiet while a leg is
//!   parked or muted. It is what a new leg hears, and what a prompt falls back to.
//!
//! Symmetric RTP: each leg sends to the address its packets come from once one has arrived
//! ([`MediaEvent::FirstPacket`]), following it if it moves; until then to the SDP address.
//! RTCP, malformed datagrams and packets of payload types the leg did not negotiate are
//! dropped without a word.
//!
//! Recording writes the left leg's received audio and the right legs' (summed) as a stereo WAV file,
//! one 20 ms frame per tick (silence where nothing arrived), through a writer thread the
//! engine shares among its sessions, so session tasks never wait for the disk. The file is
//! brought up to date every second: a crash loses at most the last second or two. A voicemail
//! is the same thing for one leg: its received audio as a mono WAV file, through the same
//! writer thread, independent of the call recording.
//!
//! The 20 ms clock only runs in sessions that need it (a clocked source on some leg, digits
//! going out, or a recording), so a plain two-leg relay costs nothing between packets.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;

use super::dtmf::Digit;
use super::g711::Law;
use super::wav::{RecordingInfo, WavError};

mod leg;
mod ports;
mod session;
mod writer;

pub use ports::RtpSocket;

use ports::PortPool;
use session::{ActiveGuard, Command, Session};
use writer::Writer;

/// Where the engine binds its RTP sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaConfig {
    /// Address to bind (the unspecified address binds every interface).
    pub bind_ip: IpAddr,
    /// Lowest port of the range; RTP uses its even ports only.
    pub port_min: u16,
    /// Highest port of the range.
    pub port_max: u16,
}

/// The RTP engine: a port pool and the sessions using it. Cheap to clone; clones share everything.
#[derive(Clone, Debug)]
pub struct MediaEngine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    ports: Arc<PortPool>,
    active: Arc<AtomicUsize>,
    writer: Arc<Writer>,
    next_recording: Arc<AtomicU64>,
    counters: Arc<Counters>,
}

/// Packets through the engine since it started (relaxed counters, read for metrics).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// RTP packets received on any leg (RTCP and junk included).
    pub(crate) received: AtomicU64,
    /// RTP packets sent to any leg (relayed, prompts, silence, digits).
    pub(crate) sent: AtomicU64,
}

impl MediaEngine {
    /// An engine over `cfg`'s port range. Binds nothing yet.
    pub fn new(cfg: MediaConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                ports: Arc::new(PortPool::new(cfg.bind_ip, cfg.port_min, cfg.port_max)),
                active: Arc::new(AtomicUsize::new(0)),
                writer: Arc::new(Writer::default()),
                next_recording: Arc::new(AtomicU64::new(1)),
                counters: Arc::default(),
            }),
        }
    }

    /// Binds a UDP socket on the next free even port of the range, round-robin, skipping ports
    /// in use elsewhere. Fails with [`std::io::ErrorKind::AddrNotAvailable`] when every port of
    /// the range is taken.
    pub async fn allocate(&self) -> std::io::Result<RtpSocket> {
        self.inner.ports.allocate().await
    }

    /// A new session with no legs, its task spawned on the current Tokio runtime; events about
    /// it go to `events`.
    ///
    /// The task ends on [`MediaSession::close`] or when the last handle is dropped.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (as [`tokio::spawn`] does).
    pub fn session(&self, events: UnboundedSender<MediaEvent>) -> MediaSession {
        let (tx, rx) = unbounded_channel();
        let guard = ActiveGuard::new(Arc::clone(&self.inner.active));
        let state = Session::new(
            events,
            Arc::clone(&self.inner.writer),
            Arc::clone(&self.inner.next_recording),
            Arc::clone(&self.inner.counters),
            guard,
        );
        tokio::spawn(session::run(state, rx));
        MediaSession { commands: tx }
    }

    /// Sessions whose task is still running.
    pub fn active_sessions(&self) -> usize {
        self.inner.active.load(Ordering::Relaxed)
    }

    /// RTP packets received and sent since the engine started.
    pub fn packets(&self) -> (u64, u64) {
        let c = &self.inner.counters;
        (c.received.load(Ordering::Relaxed), c.sent.load(Ordering::Relaxed))
    }
}

/// Names a leg within its session (the B2BUA picks the numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u64);

/// A leg to add to a session: its socket and what offer/answer settled.
#[derive(Debug)]
pub struct LegMedia {
    /// The leg's name within the session.
    pub id: LegId,
    /// The socket its RTP arrives on and leaves from; the session owns it from now on.
    pub socket: RtpSocket,
    /// The SDP address to send to until packets arrive (`None` before the answer, or on hold).
    pub remote: Option<SocketAddr>,
    /// The G.711 law of the negotiated audio payload type.
    pub law: Law,
    /// The negotiated audio payload type (0 PCMU, 8 PCMA, or a dynamic one).
    pub payload_type: u8,
    /// The negotiated RFC 4733 telephone-event payload type, if any.
    pub telephone_event: Option<u8>,
}

/// What a leg hears.
#[derive(Clone)]
pub enum Source {
    /// Comfort silence frames every 20 ms (nothing until the leg has an address).
    Silence,
    /// Another leg's audio, relayed packet by packet as it arrives.
    Leg(LegId),
    /// The sum of the frames last received from these legs, every 20 ms.
    Mix(Vec<LegId>),
    /// A prompt at 8 kHz, from its start; `looped` starts it over at the end, otherwise the leg
    /// returns to [`Source::Silence`] and [`MediaEvent::PlaybackDone`] is reported.
    Play {
        /// The audio, 8 kHz mono (see [`crate::media::wav::read_prompt`]).
        samples: Arc<[i16]>,
        /// Whether to start over at the end (music on hold).
        looped: bool,
    },
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Silence => f.write_str("Silence"),
            Self::Leg(id) => f.debug_tuple("Leg").field(id).finish(),
            Self::Mix(ids) => f.debug_tuple("Mix").field(ids).finish(),
            Self::Play { samples, looped } => {
                f.debug_struct("Play").field("samples", &samples.len()).field("looped", looped).finish()
            }
        }
    }
}

/// Something a session reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// A DTMF digit arrived as RFC 4733 events (reported once per key press).
    Digit {
        /// The leg it came from.
        leg: LegId,
        /// The key.
        digit: Digit,
    },
    /// The first RTP packet since the leg was added (or its SDP address changed) arrived;
    /// the leg now sends to `from`.
    FirstPacket {
        /// The leg.
        leg: LegId,
        /// The packet's source address.
        from: SocketAddr,
    },
    /// A prompt that does not loop has been sent to its end; the leg hears silence now.
    PlaybackDone {
        /// The leg that was listening to it.
        leg: LegId,
    },
    /// Something failed without ending the session (a recording that cannot be written…).
    Error {
        /// What happened.
        message: String,
    },
    /// The voicemail being recorded to `path` cannot be created or written; stopping it
    /// ([`MediaSession::stop_voicemail`]) reports the error too.
    VoicemailFailed {
        /// The voicemail's file.
        path: PathBuf,
        /// What happened.
        message: String,
    },
}

/// A handle on one call's media. Cheap to clone; commands are queued to the session task and
/// take effect in order. Commands after [`MediaSession::close`] are ignored.
#[derive(Clone, Debug)]
pub struct MediaSession {
    commands: UnboundedSender<Command>,
}

impl MediaSession {
    fn send(&self, command: Command) {
        // A session that has ended has nothing left to change.
        let _ = self.commands.send(command);
    }

    /// Adds a leg (replacing one with the same id). It hears [`Source::Silence`] until routed.
    pub fn add_leg(&self, leg: LegMedia) {
        self.send(Command::AddLeg(Box::new(leg)));
    }

    /// Removes a leg and closes its socket. Legs listening to it hear nothing from it any more.
    pub fn remove_leg(&self, id: LegId) {
        self.send(Command::RemoveLeg(id));
    }

    /// Applies a new offer/answer to a leg (re-INVITE, late answer). If the address changes the
    /// leg sends there until packets arrive from somewhere again; a changed codec starts a new
    /// section of the outgoing stream (marker bit).
    pub fn set_remote(
        &self,
        id: LegId,
        remote: Option<SocketAddr>,
        law: Law,
        payload_type: u8,
        telephone_event: Option<u8>,
    ) {
        self.send(Command::SetRemote { id, remote, law, payload_type, telephone_event });
    }

    /// Sets what leg `to` hears from now on. A prompt starts from its beginning.
    pub fn route(&self, to: LegId, from: Source) {
        self.send(Command::Route { to, from });
    }

    /// Starts recording into a new file at `path` (never overwritten): `left`'s received audio
    /// in the left channel (the caller), `right`'s in the right one (the agent). A recording
    /// already running is finished first. A file that cannot be created is reported as a
    /// [`MediaEvent::Error`] and by [`MediaSession::stop_recording`].
    pub fn start_recording(&self, path: PathBuf, left: LegId, right: LegId) {
        self.send(Command::StartRecording { path, left, right });
    }

    /// Changes which legs the running recording takes its channels from: `left` (the caller)
    /// and `right`, whose received audio is summed, saturating, into the right channel (the
    /// agent after a transfer; the agent and the third party during a conference). An empty
    /// `right` leaves the right channel silent.
    pub fn set_recording_legs(&self, left: LegId, right: Vec<LegId>) {
        self.send(Command::SetRecordingLegs { left, right });
    }

    /// Stops the recording, waits until the file is complete and synced, and reports it;
    /// `None` when nothing was recording (or the session has ended).
    pub async fn stop_recording(&self) -> Option<Result<RecordingInfo, WavError>> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::StopRecording(tx));
        rx.await.ok().flatten()
    }

    /// Starts recording `leg`'s received audio (decoded, 8 kHz mono 16-bit PCM WAV, one frame
    /// every 20 ms, silence where nothing arrived) into a new file at `path` (never overwritten;
    /// missing folders are created). A voicemail already running is finished first. Independent
    /// of the call recording. A file that cannot be created is reported as a
    /// [`MediaEvent::VoicemailFailed`] and by [`MediaSession::stop_voicemail`].
    pub fn start_voicemail(&self, path: PathBuf, leg: LegId) {
        self.send(Command::StartVoicemail { path, leg });
    }

    /// Stops the voicemail. The stop is queued at once, in order with other commands; the
    /// returned future (which borrows nothing, so it may be spawned) resolves once the file is
    /// complete and synced, with `None` when no voicemail was recording (or the session has
    /// ended).
    pub fn stop_voicemail(
        &self,
    ) -> impl std::future::Future<Output = Option<Result<RecordingInfo, WavError>>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        self.send(Command::StopVoicemail(tx));
        async move { rx.await.ok().flatten() }
    }

    /// Sends `digit` to `leg` as RFC 4733 events (100 ms, then three end packets), queued after
    /// digits already going out; the leg's other audio pauses meanwhile. Nothing is sent to a
    /// leg that did not negotiate telephone-event.
    pub fn send_digit(&self, leg: LegId, digit: Digit) {
        self.send(Command::SendDigit { leg, digit });
    }

    /// Ends the session: closes every leg's socket (the ports are free when this returns),
    /// finishes the recording and reports it like [`MediaSession::stop_recording`].
    /// `None` also when the session had already ended.
    pub async fn close(&self) -> Option<Result<RecordingInfo, WavError>> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Close(tx));
        rx.await.ok().flatten()
    }
}

#[cfg(test)]
mod tests;
