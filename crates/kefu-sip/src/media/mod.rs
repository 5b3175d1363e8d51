//! Media primitives for the RTP engine: G.711, RTP packets, RFC 4733 digits, the supervisor mixer and WAV files.
//!
//! Everything here is plain code over bytes and samples — no sockets, no clocks, no tasks — so
//! the engine that owns the sockets can be tested piece by piece. The one exception is
//! [`wav`], whose recorder writes through `std::fs` (blocking; run it off the async threads).
//!
//! Audio is narrowband telephony throughout: 8 kHz mono, 16-bit signed samples, 20 ms frames.

pub mod dtmf;
pub mod engine;
pub mod g711;
pub mod mixer;
pub mod rtp;
pub mod tones;
pub mod wav;

pub use dtmf::{Digit, DigitDetector, DtmfError, EventPacket, TelephoneEvent};
pub use g711::Law;
pub use mixer::{MixOutput, MonitorMode};
pub use rtp::{RtpError, RtpExtension, RtpPacket, SequenceExtender};
pub use wav::{RecordingInfo, WavError, WavHeader, WavRecorder};

/// Sample rate of G.711 audio and of everything the engine mixes, in Hz.
pub const SAMPLE_RATE: u32 = 8000;

/// Packetisation time: the audio carried by one RTP packet, in milliseconds.
pub const PTIME_MS: u32 = 20;

/// Samples in one 20 ms frame at 8 kHz (also the RTP timestamp step per packet).
pub const SAMPLES_PER_FRAME: usize = 160;

/// One 20 ms frame of 16-bit PCM.
pub type Frame = [i16; SAMPLES_PER_FRAME];

/// Static RTP payload type of G.711 µ-law (PCMU), RFC 3551.
pub const PT_PCMU: u8 = 0;

/// Static RTP payload type of G.711 A-law (PCMA), RFC 3551.
pub const PT_PCMA: u8 = 8;

/// Dynamic payload type kefu offers for RFC 4733 telephone-events unless the peer chose another.
pub const PT_TELEPHONE_EVENT: u8 = 101;
