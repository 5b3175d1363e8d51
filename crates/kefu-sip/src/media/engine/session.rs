//! The session task: one per call, owning its legs' sockets.
//!
//! A `select!` loop over the command channel, the 20 ms clock (armed only while something needs
//! it) and every leg's socket. Relayed packets go out from the receive path at once; prompts,
//! mixes, silence, outgoing digits and the recorder run on the clock.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, mpsc};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::ReadBuf;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::{Interval, MissedTickBehavior};

use super::super::dtmf::Digit;
use super::super::g711::Law;
use super::super::rtp::{HEADER_LEN, RtpPacket, is_rtcp};
use super::super::{Frame, PTIME_MS, SAMPLES_PER_FRAME};
use super::leg::{Header, Leg, PcmFifo};
use super::writer::{Kind, StopReply, Writer, WriterMsg};
use super::{LegId, LegMedia, MediaEvent, Source};

/// Largest datagram read; longer ones are truncated (and G.711 never comes close).
const RX_BUF: usize = 2048;
/// Consecutive receive errors after which a leg stops listening.
const MAX_RX_ERRORS: u32 = 64;
/// Most frames one late wake-up catches up (200 ms); anything older is skipped.
const MAX_CATCH_UP: u64 = 10;
/// Frames per batch handed to the recording writer (500 ms).
const RECORD_BATCH_FRAMES: usize = 25;
/// One clock period.
const PERIOD: Duration = Duration::from_millis(PTIME_MS as u64);

/// What the handle asks of the task.
pub(super) enum Command {
    AddLeg(Box<LegMedia>),
    RemoveLeg(LegId),
    SetRemote { id: LegId, remote: Option<SocketAddr>, law: Law, payload_type: u8, telephone_event: Option<u8> },
    Route { to: LegId, from: Source },
    StartRecording { path: PathBuf, left: LegId, right: LegId },
    SetRecordingLegs { left: LegId, right: Vec<LegId> },
    StopRecording(StopReply),
    StartVoicemail { path: PathBuf, leg: LegId },
    StopVoicemail(StopReply),
    SendDigit { leg: LegId, digit: Digit },
    Close(StopReply),
}

/// Counts the session among the engine's active ones until released or dropped.
pub(super) struct ActiveGuard(Option<Arc<AtomicUsize>>);

impl ActiveGuard {
    pub(super) fn new(active: Arc<AtomicUsize>) -> Self {
        active.fetch_add(1, Ordering::Relaxed);
        Self(Some(active))
    }

    fn release(&mut self) {
        if let Some(active) = self.0.take() {
            active.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.release();
    }
}

/// A recording in progress: which leg goes left and which legs, summed, go right (a mono
/// recording has no right channel), and the batch not yet handed over.
struct Recording {
    id: u64,
    /// Stereo (a call recording) or mono (a voicemail: `left` only).
    stereo: bool,
    left: LegId,
    /// Summed (saturating) into the right channel: the agent, plus a third party in a conference.
    right: Vec<LegId>,
    writer: mpsc::Sender<WriterMsg>,
    left_pcm: Vec<i16>,
    right_pcm: Vec<i16>,
}

impl Recording {
    fn batch() -> Vec<i16> {
        Vec::with_capacity(RECORD_BATCH_FRAMES * SAMPLES_PER_FRAME)
    }

    fn right_batch(&self) -> Vec<i16> {
        if self.stereo { Self::batch() } else { Vec::new() }
    }

    /// Whether `leg`'s received audio goes into this recording.
    fn records(&self, leg: LegId) -> bool {
        self.left == leg || self.right.contains(&leg)
    }

    /// Appends this tick's frames of the recorded legs (silence where nothing arrived).
    fn take_frame(&mut self, legs: &[Leg]) {
        let append = |id: LegId, pcm: &mut Vec<i16>| match legs.iter().find(|l| l.id == id && l.frame_valid) {
            Some(leg) => pcm.extend_from_slice(&leg.frame),
            None => pcm.resize(pcm.len() + SAMPLES_PER_FRAME, 0),
        };
        append(self.left, &mut self.left_pcm);
        if self.stereo {
            let start = self.right_pcm.len();
            self.right_pcm.resize(start + SAMPLES_PER_FRAME, 0);
            let out = self.right_pcm.get_mut(start..).unwrap_or_default();
            for leg in legs.iter().filter(|l| l.frame_valid && self.right.contains(&l.id)) {
                for (o, &s) in out.iter_mut().zip(leg.frame.iter()) {
                    *o = o.saturating_add(s);
                }
            }
        }
        if self.left_pcm.len() >= RECORD_BATCH_FRAMES * SAMPLES_PER_FRAME {
            self.hand_over();
        }
    }

    /// Hands the pending audio to the writer.
    fn hand_over(&mut self) {
        if self.left_pcm.is_empty() {
            return;
        }
        let left = std::mem::replace(&mut self.left_pcm, Self::batch());
        let fresh = self.right_batch();
        let right = std::mem::replace(&mut self.right_pcm, fresh);
        // A writer that is gone reports nothing more; the stop will say so.
        let _ = self.writer.send(WriterMsg::Write { id: self.id, left, right });
    }

    /// Hands over the rest and asks the writer to finish, replying to `reply` if given.
    fn finish(mut self, reply: Option<StopReply>) {
        self.hand_over();
        if let Err(mpsc::SendError(WriterMsg::Finish { reply: Some(reply), .. })) =
            self.writer.send(WriterMsg::Finish { id: self.id, reply })
        {
            let gone = io::Error::other("the recording writer thread has stopped");
            let _ = reply.send(Some(Err(gone.into())));
        }
    }
}

/// The 20 ms clock: frames are due from `epoch` on, one every period.
struct Clock {
    interval: Interval,
    epoch: Instant,
    done: u64,
}

/// Everything the task owns except the command receiver and the receive buffer.
pub(super) struct Session {
    legs: Vec<Leg>,
    events: UnboundedSender<MediaEvent>,
    writer: Arc<Writer>,
    next_recording: Arc<std::sync::atomic::AtomicU64>,
    counters: Arc<super::Counters>,
    /// The call recording (stereo).
    recording: Option<Recording>,
    /// A voicemail: one leg's received audio (mono).
    voicemail: Option<Recording>,
    clock: Option<Clock>,
    /// The clock's need must be worked out again (after a command, a tick or a latch).
    clock_dirty: bool,
    tx: Vec<u8>,
    mix: Frame,
    /// Which leg the next receive poll starts with, for fairness.
    rr: usize,
    guard: ActiveGuard,
}

/// µ-law code → A-law code of the same level, and back.
static MU_TO_A: LazyLock<[u8; 256]> = LazyLock::new(|| transcode_table(Law::Mu, Law::A));
static A_TO_MU: LazyLock<[u8; 256]> = LazyLock::new(|| transcode_table(Law::A, Law::Mu));

fn transcode_table(from: Law, to: Law) -> [u8; 256] {
    let mut table = [0u8; 256];
    for (code, out) in (0..=255u8).zip(table.iter_mut()) {
        *out = to.encode(from.decode(code));
    }
    table
}

/// Appends a 12-byte RTP header (no CSRC, extension or padding).
fn write_header(buf: &mut Vec<u8>, h: Header, payload_type: u8, ssrc: u32) {
    buf.clear();
    buf.push(0x80);
    buf.push(u8::from(h.marker) << 7 | (payload_type & 0x7F));
    buf.extend_from_slice(&h.sequence.to_be_bytes());
    buf.extend_from_slice(&h.timestamp.to_be_bytes());
    buf.extend_from_slice(&ssrc.to_be_bytes());
    debug_assert_eq!(buf.len(), HEADER_LEN);
}

/// Sends without waiting: a full socket buffer drops the packet, as the network would.
fn send(counters: &super::Counters, leg: &Leg, buf: &[u8], dest: SocketAddr) {
    match leg.socket.socket.try_send_to(buf, dest) {
        Ok(_) => {
            counters.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Err(e) if e.kind() != io::ErrorKind::WouldBlock => {
            tracing::trace!(leg = leg.id.0, %dest, "rtp send failed: {e}");
        }
        Err(_) => {}
    }
}

/// Waits for a datagram on any leg; `(leg index, result)`.
fn poll_recv_any(
    legs: &[Leg],
    buf: &mut [u8],
    start: usize,
    cx: &mut Context<'_>,
) -> Poll<(usize, io::Result<(usize, SocketAddr)>)> {
    let n = legs.len();
    for k in 0..n {
        let i = (start + k) % n;
        let Some(leg) = legs.get(i) else { continue };
        if leg.rx_disabled {
            continue;
        }
        let mut read = ReadBuf::new(buf);
        match leg.socket.socket.poll_recv_from(cx, &mut read) {
            Poll::Ready(Ok(from)) => return Poll::Ready((i, Ok((read.filled().len(), from)))),
            Poll::Ready(Err(e)) => return Poll::Ready((i, Err(e))),
            Poll::Pending => {}
        }
    }
    Poll::Pending
}

async fn next_tick(clock: &mut Option<Clock>) {
    match clock {
        Some(clock) => {
            clock.interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Runs the session until closed or until every handle is gone.
pub(super) async fn run(mut session: Session, mut commands: UnboundedReceiver<Command>) {
    let mut rx = vec![0u8; RX_BUF];
    loop {
        if session.clock_dirty {
            session.update_clock();
        }
        let start = session.rr;
        tokio::select! {
            biased;
            command = commands.recv() => {
                let Some(command) = command else { break };
                if !session.command(command) {
                    return;
                }
            }
            () = next_tick(&mut session.clock) => session.on_tick(),
            (index, result) = std::future::poll_fn(|cx| poll_recv_any(&session.legs, &mut rx, start, cx)) => {
                session.rr = index + 1;
                session.on_datagram(index, result, &rx);
            }
        }
    }
    // Every handle dropped without `close`: finish the recordings for nobody.
    for recording in [session.recording.take(), session.voicemail.take()].into_iter().flatten() {
        recording.finish(None);
    }
}

impl Session {
    pub(super) fn new(
        events: UnboundedSender<MediaEvent>,
        writer: Arc<Writer>,
        next_recording: Arc<std::sync::atomic::AtomicU64>,
        counters: Arc<super::Counters>,
        guard: ActiveGuard,
    ) -> Self {
        Self {
            legs: Vec::with_capacity(4),
            events,
            writer,
            next_recording,
            counters,
            recording: None,
            voicemail: None,
            clock: None,
            clock_dirty: false,
            tx: Vec::with_capacity(RX_BUF),
            mix: [0; SAMPLES_PER_FRAME],
            rr: 0,
            guard,
        }
    }

    fn emit(&self, event: MediaEvent) {
        let _ = self.events.send(event);
    }

    fn leg_mut(&mut self, id: LegId) -> Option<&mut Leg> {
        self.legs.iter_mut().find(|l| l.id == id)
    }

    /// Applies a command; false when the session is to end.
    fn command(&mut self, command: Command) -> bool {
        self.clock_dirty = true;
        match command {
            Command::AddLeg(media) => {
                self.legs.retain(|l| l.id != media.id);
                self.legs.push(Leg::new(*media));
                self.refresh_pcm();
            }
            Command::RemoveLeg(id) => {
                self.legs.retain(|l| l.id != id);
                self.refresh_pcm();
            }
            Command::SetRemote { id, remote, law, payload_type, telephone_event } => {
                if let Some(leg) = self.leg_mut(id) {
                    if remote != leg.sdp_remote {
                        // The peer moved: send to the new SDP address until it sends from somewhere.
                        leg.latched = None;
                    }
                    if law != leg.law || payload_type != leg.payload_type {
                        leg.out.switch();
                    }
                    leg.sdp_remote = remote;
                    leg.law = law;
                    leg.payload_type = payload_type;
                    leg.telephone_event = telephone_event;
                }
            }
            Command::Route { to, from } => {
                if let Some(leg) = self.leg_mut(to) {
                    leg.source = from;
                    leg.play_pos = 0;
                    leg.out.switch();
                }
                self.refresh_pcm();
            }
            Command::StartRecording { path, left, right } => {
                if let Some(previous) = self.recording.take() {
                    previous.finish(None);
                }
                self.recording = self.open_recording(path, Kind::Call, left, vec![right]);
                self.refresh_pcm();
            }
            Command::SetRecordingLegs { left, right } => {
                if let Some(recording) = self.recording.as_mut() {
                    recording.left = left;
                    recording.right = right;
                }
                self.refresh_pcm();
            }
            Command::StartVoicemail { path, leg } => {
                if let Some(previous) = self.voicemail.take() {
                    previous.finish(None);
                }
                self.voicemail = self.open_recording(path, Kind::Voicemail, leg, Vec::new());
                self.refresh_pcm();
            }
            Command::StopVoicemail(reply) => {
                match self.voicemail.take() {
                    Some(voicemail) => voicemail.finish(Some(reply)),
                    None => {
                        let _ = reply.send(None);
                    }
                }
                self.refresh_pcm();
            }
            Command::StopRecording(reply) => {
                match self.recording.take() {
                    Some(recording) => recording.finish(Some(reply)),
                    None => {
                        let _ = reply.send(None);
                    }
                }
                self.refresh_pcm();
            }
            Command::SendDigit { leg, digit } => {
                if let Some(leg) = self.leg_mut(leg) {
                    if leg.telephone_event.is_some() {
                        leg.digits.push(digit);
                    } else {
                        tracing::debug!(leg = leg.id.0, %digit, "digit not sent: no telephone-event negotiated");
                    }
                }
            }
            Command::Close(reply) => {
                // Sockets and the session count go first, so they are free when `close` returns.
                self.legs.clear();
                self.clock = None;
                self.guard.release();
                if let Some(voicemail) = self.voicemail.take() {
                    voicemail.finish(None);
                }
                match self.recording.take() {
                    Some(recording) => recording.finish(Some(reply)),
                    None => {
                        let _ = reply.send(None);
                    }
                }
                return false;
            }
        }
        true
    }

    /// Asks the writer thread for a new file; `None` (reported) when the writer is gone.
    fn open_recording(&self, path: PathBuf, kind: Kind, left: LegId, right: Vec<LegId>) -> Option<Recording> {
        let failed = |message: String| match kind {
            Kind::Call => MediaEvent::Error { message },
            Kind::Voicemail => MediaEvent::VoicemailFailed { path: path.clone(), message },
        };
        let writer = match self.writer.sender() {
            Ok(writer) => writer,
            Err(e) => {
                self.emit(failed(format!("recording writer cannot start: {e}")));
                return None;
            }
        };
        let id = self.next_recording.fetch_add(1, Ordering::Relaxed);
        let create = WriterMsg::Create { id, path: path.clone(), kind, events: self.events.clone() };
        if writer.send(create).is_err() {
            self.emit(failed("the recording writer thread has stopped".into()));
            return None;
        }
        let stereo = kind == Kind::Call;
        let right_pcm = if stereo { Recording::batch() } else { Vec::new() };
        Some(Recording { id, stereo, left, right, writer, left_pcm: Recording::batch(), right_pcm })
    }

    /// Keeps received audio only for the legs a mix or the recorders listen to.
    fn refresh_pcm(&mut self) {
        let wanted: Vec<bool> = self
            .legs
            .iter()
            .map(|leg| {
                [&self.recording, &self.voicemail].into_iter().flatten().any(|r| r.records(leg.id))
                    || self.legs.iter().any(|l| matches!(&l.source, Source::Mix(ids) if ids.contains(&leg.id)))
            })
            .collect();
        for (leg, want) in self.legs.iter_mut().zip(wanted) {
            match (want, leg.pcm.is_some()) {
                (true, false) => leg.pcm = Some(PcmFifo::new()),
                (false, true) => leg.pcm = None,
                _ => {}
            }
            if !want {
                leg.frame_valid = false;
            }
        }
    }

    fn update_clock(&mut self) {
        self.clock_dirty = false;
        let needed = self.recording.is_some() || self.voicemail.is_some() || self.legs.iter().any(Leg::needs_clock);
        match (needed, self.clock.is_some()) {
            (true, false) => {
                let epoch = tokio::time::Instant::now();
                let mut interval = tokio::time::interval_at(epoch, PERIOD);
                interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
                self.clock = Some(Clock { interval, epoch: epoch.into_std(), done: 0 });
            }
            (false, true) => self.clock = None,
            _ => {}
        }
    }

    /// Runs the frames that are due (one, or a few after a late wake-up).
    fn on_tick(&mut self) {
        let now = Instant::now();
        let Some(clock) = self.clock.as_mut() else { return };
        let due = u64::try_from(now.saturating_duration_since(clock.epoch).as_nanos() / PERIOD.as_nanos())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let mut frames = due.saturating_sub(clock.done);
        if frames > MAX_CATCH_UP {
            frames = MAX_CATCH_UP;
        }
        clock.done = due;
        for _ in 0..frames {
            self.frame(now);
        }
        self.clock_dirty = true;
    }

    /// One 20 ms step: take each needed leg's received frame, feed the clocked sources, record.
    fn frame(&mut self, now: Instant) {
        for leg in &mut self.legs {
            if let Some(fifo) = leg.pcm.as_mut() {
                leg.frame_valid = fifo.pop(&mut leg.frame);
            }
        }
        for i in 0..self.legs.len() {
            self.feed(i, now);
        }
        for recording in [self.recording.as_mut(), self.voicemail.as_mut()].into_iter().flatten() {
            recording.take_frame(&self.legs);
        }
    }

    /// What leg `i` hears this tick, if its source is clocked (or it has digits to send).
    fn feed(&mut self, i: usize, now: Instant) {
        let Some(leg) = self.legs.get_mut(i) else { return };
        let dest = leg.dest();
        if leg.digits.active() {
            if let (Some((h, payload)), Some(pt)) = (leg.digits.next(&mut leg.out, now), leg.telephone_event) {
                write_header(&mut self.tx, h, pt, leg.out.ssrc);
                self.tx.extend_from_slice(&payload);
                if let Some(dest) = dest {
                    send(&self.counters, leg, &self.tx, dest);
                }
            }
            // A prompt keeps time while digits go out.
            Self::advance_play(leg, &self.events, None);
            return;
        }
        let has_audio = match &leg.source {
            Source::Leg(_) => return,
            Source::Silence => false,
            Source::Play { .. } => {
                if !Self::advance_play(leg, &self.events, Some(&mut self.mix)) {
                    return;
                }
                true
            }
            Source::Mix(_) => {
                self.mix = [0; SAMPLES_PER_FRAME];
                let Some(Source::Mix(ids)) = self.legs.get(i).map(|l| &l.source) else { return };
                for other in self.legs.iter().filter(|l| l.frame_valid && ids.contains(&l.id)) {
                    for (m, &s) in self.mix.iter_mut().zip(other.frame.iter()) {
                        *m = m.saturating_add(s);
                    }
                }
                true
            }
        };
        let Some(dest) = dest else { return };
        let Some(leg) = self.legs.get_mut(i) else { return };
        let h = leg.out.local(SAMPLES_PER_FRAME as u32, now);
        write_header(&mut self.tx, h, leg.payload_type, leg.out.ssrc);
        let law = leg.law;
        if has_audio {
            self.tx.extend(self.mix.iter().map(|&s| law.encode(s)));
        } else {
            self.tx.resize(HEADER_LEN + SAMPLES_PER_FRAME, law.encode(0));
        }
        send(&self.counters, leg, &self.tx, dest);
    }

    /// Moves a playing leg on by one frame, copying the frame into `out` if given (zero-padded
    /// after the end of a prompt that does not loop; a looped one wraps around mid-frame). False
    /// when there is nothing to send because the prompt ended: the leg is then back on silence
    /// and `PlaybackDone` is reported.
    fn advance_play(leg: &mut Leg, events: &UnboundedSender<MediaEvent>, mut out: Option<&mut Frame>) -> bool {
        let Source::Play { samples, looped } = &leg.source else { return false };
        let len = samples.len();
        if len == 0 && *looped {
            if let Some(out) = out {
                out.fill(0);
            }
            return true;
        }
        if leg.play_pos >= len && !*looped {
            leg.source = Source::Silence;
            leg.play_pos = 0;
            let _ = events.send(MediaEvent::PlaybackDone { leg: leg.id });
            return false;
        }
        let mut filled = 0;
        while filled < SAMPLES_PER_FRAME {
            if leg.play_pos >= len {
                if !*looped {
                    break;
                }
                leg.play_pos = 0;
            }
            let n = (SAMPLES_PER_FRAME - filled).min(len - leg.play_pos);
            if let Some(out) = out.as_deref_mut() {
                let chunk = samples.get(leg.play_pos..leg.play_pos + n).unwrap_or_default();
                if let Some(dst) = out.get_mut(filled..filled + chunk.len()) {
                    dst.copy_from_slice(chunk);
                }
            }
            filled += n;
            leg.play_pos += n;
        }
        if let Some(rest) = out.and_then(|out| out.get_mut(filled..)) {
            rest.fill(0);
        }
        true
    }

    /// Handles what a leg's socket delivered.
    fn on_datagram(&mut self, index: usize, result: io::Result<(usize, SocketAddr)>, rx: &[u8]) {
        let (len, from) = match result {
            Ok(ok) => ok,
            Err(e) => {
                let Some(leg) = self.legs.get_mut(index) else { return };
                leg.rx_errors += 1;
                if leg.rx_errors >= MAX_RX_ERRORS {
                    leg.rx_disabled = true;
                    let message = format!("leg {} stopped receiving after repeated errors: {e}", leg.id.0);
                    self.emit(MediaEvent::Error { message });
                }
                return;
            }
        };
        let Some(leg) = self.legs.get_mut(index) else { return };
        leg.rx_errors = 0;
        self.counters.received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let data = rx.get(..len).unwrap_or_default();
        if is_rtcp(data) {
            return;
        }
        let Ok(packet) = RtpPacket::parse(data) else { return };
        let audio = packet.payload_type == leg.payload_type;
        if !audio && Some(packet.payload_type) != leg.telephone_event {
            return;
        }
        if leg.latched != Some(from) {
            let first = leg.latched.is_none();
            leg.latched = Some(from);
            self.clock_dirty = true;
            if first {
                let _ = self.events.send(MediaEvent::FirstPacket { leg: leg.id, from });
            }
        }
        if leg.in_ssrc != Some(packet.ssrc) {
            leg.in_ssrc = Some(packet.ssrc);
            leg.detector.reset();
        }
        if !audio {
            if let Ok(Some(digit)) = leg.detector.push(packet.timestamp, packet.marker, packet.payload) {
                let _ = self.events.send(MediaEvent::Digit { leg: leg.id, digit });
            }
            return;
        }
        if let Some(fifo) = leg.pcm.as_mut() {
            fifo.push(leg.law, packet.payload);
        }
        let (source, source_law) = (leg.id, leg.law);
        let mut now = None;
        for out in &mut self.legs {
            if !matches!(out.source, Source::Leg(id) if id == source) || out.digits.active() {
                continue;
            }
            let Some(dest) = out.dest() else { continue };
            let now = *now.get_or_insert_with(Instant::now);
            let h = out.out.relayed(source, &packet, now);
            write_header(&mut self.tx, h, out.payload_type, out.out.ssrc);
            match (source_law, out.law) {
                (Law::Mu, Law::A) => self.tx.extend(packet.payload.iter().map(|&c| MU_TO_A[usize::from(c)])),
                (Law::A, Law::Mu) => self.tx.extend(packet.payload.iter().map(|&c| A_TO_MU[usize::from(c)])),
                _ => self.tx.extend_from_slice(packet.payload),
            }
            send(&self.counters, out, &self.tx, dest);
        }
    }
}
