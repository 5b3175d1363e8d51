//! SIP and RTP for kefu: registrar, B2BUA call legs, G.711 media, RFC 4733 digits, prompt
//! playback, recording and the supervisor mixer.
//!
//! Built so far are the sans-IO pieces the telephony issue stands on — G.711, RTP packets,
//! RFC 4733 telephone events, the listen/whisper/barge mixer, the crash-safe stereo WAV
//! recorder, SDP offer/answer, digest authentication and the registrar's binding table.
//! There is no SIP parser, transport, transaction layer or B2BUA yet: nothing here answers a
//! call.

pub mod digest;
pub mod media;
pub mod registrar;
pub mod sdp;
pub mod server;
#[cfg(feature = "testing")]
pub mod testing;
