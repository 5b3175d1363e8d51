//! The engine's recording writer: one plain thread that owns every open [`WavRecorder`].
//!
//! Session tasks hand it half-second batches of audio (stereo call recordings, mono voicemail)
//! over a channel and never wait for the disk; the thread starts with the first recording and
//! ends with the engine. Finishing
//! (flush and fsync) happens on the thread too, so a slow disk delays other recordings' writes
//! (they wait in the channel, in memory) but never a session task.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use super::super::wav::{RecordingInfo, WavError, WavRecorder};
use super::MediaEvent;

/// How much audio the recorder buffers before it updates the file (and so what a crash can lose).
pub(super) const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The reply to a stop: `None` when nothing was recording.
pub(super) type StopReply = oneshot::Sender<Option<Result<RecordingInfo, WavError>>>;

/// What a recording is for: its channels and how its failures are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A call recording: stereo, failures reported as [`MediaEvent::Error`].
    Call,
    /// A voicemail: mono, its folder created if missing, failures reported as
    /// [`MediaEvent::VoicemailFailed`].
    Voicemail,
}

/// Work for the writer thread.
pub(super) enum WriterMsg {
    /// Open a new recording.
    Create {
        /// Engine-wide recording number.
        id: u64,
        path: PathBuf,
        kind: Kind,
        /// Where to report failures as they happen.
        events: UnboundedSender<MediaEvent>,
    },
    /// Append audio (`left[i]`, `right[i]` is one stereo sample frame; `right` is empty and
    /// ignored for a mono recording).
    Write { id: u64, left: Vec<i16>, right: Vec<i16> },
    /// Flush, fsync and close, replying with the outcome if anyone waits for it.
    Finish { id: u64, reply: Option<StopReply> },
}

/// Where an open recording reports a failure.
struct Reporter {
    events: UnboundedSender<MediaEvent>,
    kind: Kind,
    path: PathBuf,
}

impl Reporter {
    fn report(&self, message: String) {
        tracing::warn!("{message}");
        let event = match self.kind {
            Kind::Call => MediaEvent::Error { message },
            Kind::Voicemail => MediaEvent::VoicemailFailed { path: self.path.clone(), message },
        };
        let _ = self.events.send(event);
    }
}

enum Slot {
    Open(WavRecorder, Reporter),
    /// The recording failed; the first error is kept for the stop.
    Failed(WavError),
}

/// Starts the writer thread on first use and hands out its channel.
#[derive(Debug, Default)]
pub(super) struct Writer {
    tx: Mutex<Option<mpsc::Sender<WriterMsg>>>,
}

impl Writer {
    /// The channel to the writer thread, spawning it if needed.
    pub(super) fn sender(&self) -> std::io::Result<mpsc::Sender<WriterMsg>> {
        let mut tx = self.tx.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = tx.as_ref() {
            return Ok(tx.clone());
        }
        let (sender, rx) = mpsc::channel();
        std::thread::Builder::new().name("kefu-recorder".into()).spawn(move || run(&rx))?;
        *tx = Some(sender.clone());
        Ok(sender)
    }
}

fn run(rx: &mpsc::Receiver<WriterMsg>) {
    let mut open: HashMap<u64, Slot> = HashMap::new();
    while let Ok(msg) = rx.recv() {
        match msg {
            WriterMsg::Create { id, path, kind, events } => {
                let created = match kind {
                    Kind::Call => WavRecorder::create(&path, FLUSH_EVERY),
                    Kind::Voicemail => match path.parent().map(std::fs::create_dir_all) {
                        Some(Err(e)) => Err(e.into()),
                        _ => WavRecorder::create_mono(&path, FLUSH_EVERY),
                    },
                };
                let reporter = Reporter { events, kind, path };
                let slot = match created {
                    Ok(recorder) => Slot::Open(recorder, reporter),
                    Err(e) => {
                        reporter.report(format!("recording {} cannot start: {e}", reporter.path.display()));
                        Slot::Failed(e)
                    }
                };
                open.insert(id, slot);
            }
            WriterMsg::Write { id, left, right } => {
                if let Some(slot) = open.get_mut(&id)
                    && let Slot::Open(recorder, reporter) = slot
                    && let Err(e) = recorder.write(&left, &right)
                {
                    reporter.report(format!("recording {} stopped: {e}", reporter.path.display()));
                    // Dropping the recorder flushes what it can: the file stays playable.
                    *slot = Slot::Failed(e);
                }
            }
            WriterMsg::Finish { id, reply } => {
                let outcome = match open.remove(&id) {
                    Some(Slot::Open(recorder, _)) => Some(recorder.finish()),
                    Some(Slot::Failed(e)) => Some(Err(e)),
                    None => None,
                };
                match reply {
                    Some(reply) => {
                        let _ = reply.send(outcome);
                    }
                    None => {
                        if let Some(Err(e)) = outcome {
                            tracing::warn!("recording finished with an error nobody asked for: {e}");
                        }
                    }
                }
            }
        }
    }
}
