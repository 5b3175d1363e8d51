//! An in-process SIP user agent for integration tests: it registers, calls, answers, holds,
//! sends tones and DTMF and listens to what comes back — the way a softphone or a carrier
//! trunk would drive kefu, without any external tool.
//!
//! Built on rsipstack's transport, transaction and dialog layers (the same stack as kefu's
//! server), with kefu's own SDP offer/answer ([`crate::sdp`]), digest client
//! ([`crate::digest`], so SHA-256 challenges are answered too) and media primitives
//! ([`crate::media`]). Everything listens on 127.0.0.1.
//!
//! ```no_run
//! # async fn demo(kefu: std::net::SocketAddr) -> anyhow::Result<()> {
//! use std::time::Duration;
//! use kefu_sip::testing::{TestUa, Transport};
//!
//! let agent = TestUa::start("1001", Some("secret"), kefu, Transport::Udp).await?;
//! assert_eq!(agent.register(300).await?, 200);
//! let caller = TestUa::start("+15551234567", None, kefu, Transport::Udp).await?;
//! let call = caller.call("support").await?;
//! let ringing = agent.incoming(Duration::from_secs(5)).await?;
//! let answered = ringing.answer().await?;
//! call.start_tone(440.0);
//! answered.wait_for_tone(440.0, Duration::from_secs(2)).await?;
//! # Ok(()) }
//! ```
//!
//! Behaviour worth knowing:
//! - Each call gets its own RTP socket; what arrives is recorded in the background from the
//!   moment the socket exists (so early media counts), see [`Received`].
//! - The tone is sent only while the negotiated direction lets us send: when the far end puts
//!   this agent on hold (`a=sendonly`), the agent answers `recvonly` and goes quiet, as a
//!   phone would.
//! - In-dialog requests from the far end are answered automatically: BYE 200 (the call ends),
//!   re-INVITE/UPDATE 200 with an SDP answer (remembered: [`TestCall::remote_direction`]),
//!   INFO/OPTIONS/NOTIFY/MESSAGE 200; REFER gets 501.
//! - Dropping a [`TestCall`] stops its media but does not hang up; dropping the [`TestUa`]
//!   shuts its SIP endpoint down.

mod call;
mod directory;
mod media;
mod tone;
mod ua;

use std::fmt;
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicU64, Ordering};

pub use call::{IncomingCall, PendingCall, TestCall};
pub use directory::{StaticDirectory, secret};
pub use media::{Received, TONE_MIN_FRACTION, TONE_MIN_RMS};
pub use tone::{dominant_frequency, goertzel_power, rms, tone_fraction};
pub use ua::TestUa;

/// The SIP transport a [`TestUa`] listens and sends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP: the agent listens for connections and connects to the server on demand,
    /// reusing that connection for everything sent to the server.
    Tcp,
}

/// Why a call did not get answered.
#[derive(Debug)]
pub enum CallFailed {
    /// A final non-2xx response (after answering a digest challenge, if there was one).
    Status {
        /// The status code, e.g. 486.
        status: u16,
        /// The whole response as text (for headers such as `Reason` or `Retry-After`).
        response: String,
    },
    /// No final response, a transport error, or an answer the agent could not use.
    Error(anyhow::Error),
}

impl CallFailed {
    /// The final status code, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            CallFailed::Status { status, .. } => Some(*status),
            CallFailed::Error(_) => None,
        }
    }
}

impl fmt::Display for CallFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallFailed::Status { status, .. } => write!(f, "call failed with {status}"),
            CallFailed::Error(e) => write!(f, "call failed: {e:#}"),
        }
    }
}

impl std::error::Error for CallFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallFailed::Status { .. } => None,
            CallFailed::Error(e) => Some(e.as_ref()),
        }
    }
}

impl From<anyhow::Error> for CallFailed {
    fn from(e: anyhow::Error) -> Self {
        CallFailed::Error(e)
    }
}

/// A random number for tags, SSRCs and session ids (not cryptographic).
pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}
