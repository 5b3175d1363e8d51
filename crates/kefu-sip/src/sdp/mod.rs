//! SDP (RFC 4566 / RFC 8866) session descriptions and offer/answer (RFC 3264) for audio calls.
//!
//! [`SessionDescription::parse`] turns text into a typed value and
//! [`SessionDescription::to_string`](std::string::ToString) writes it back as canonical CRLF
//! text, so that `parse(serialize(x)) == x` for every parsed `x`. Lines the calls do not use
//! (`u=`, `e=`, `p=`, repeat times, keys, unknown `a=` attributes) are kept, not dropped.
//!
//! [`answer_offer`], [`build_offer`] and [`read_answer`] are kefu's side of offer/answer as a
//! B2BUA media endpoint speaking G.711 (PCMU, PCMA) plus RFC 4733 telephone-events.
//!
//! Canonical order when writing: `v o s i (u e p) c b t (t r z k) a m…`; inside a media
//! section `i c b k`, then `rtpmap`s, `fmtp`s, `ptime`, `maxptime`, `rtcp`, the direction, and
//! the other attributes in the order they came.

mod negotiate;
mod parse;
#[cfg(test)]
mod samples;
mod write;

use std::net::IpAddr;

pub use negotiate::{
    Codec, DEFAULT_TELEPHONE_EVENT_PT, LocalMedia, NegotiatedMedia, NegotiationError, answer_offer, build_offer,
    read_answer,
};
pub use parse::{SdpError, SdpErrorKind};

/// A parsed SDP session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `v=`: protocol version; always 0.
    pub version: u32,
    /// `o=`: who created the description and its version.
    pub origin: Origin,
    /// `s=`: session name (may be `-` or a single space).
    pub session_name: String,
    /// `i=`: session information.
    pub information: Option<String>,
    /// `c=` at session level: the default connection for all media sections.
    pub connection: Option<Connection>,
    /// `b=` at session level.
    pub bandwidths: Vec<Bandwidth>,
    /// The first `t=` line.
    pub timing: Timing,
    /// Session-level lines kept verbatim: `u= e= p=`, further `t=`, `r= z= k=`.
    pub extra_lines: Vec<ExtraLine>,
    /// Session-level `a=sendrecv|sendonly|recvonly|inactive`, if present.
    pub direction: Option<Direction>,
    /// Other session-level attributes, in order.
    pub attributes: Vec<Attribute>,
    /// The `m=` sections, in order.
    pub media: Vec<MediaDescription>,
}

/// `o=<username> <sess-id> <sess-version> IN <addrtype> <unicast-address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Username of the originator, `-` when there is none.
    pub username: String,
    /// Numeric session id.
    pub session_id: u64,
    /// Session version; a new description within a dialog must increase it.
    pub session_version: u64,
    /// Address type (`IP4` or `IP6`).
    pub address_type: AddressType,
    /// The originating host: an address or a domain name, kept as written.
    pub address: String,
}

/// Address type of an `IN` network address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressType {
    /// `IP4`.
    Ip4,
    /// `IP6`.
    Ip6,
}

impl AddressType {
    /// The token used in SDP.
    pub fn as_str(self) -> &'static str {
        match self {
            AddressType::Ip4 => "IP4",
            AddressType::Ip6 => "IP6",
        }
    }

    /// The address type for an IP address.
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(_) => AddressType::Ip4,
            IpAddr::V6(_) => AddressType::Ip6,
        }
    }
}

/// `c=IN IP4|IP6 <address>`: unicast connection data (multicast and domain names are refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    /// Where media is sent; `0.0.0.0` is the old (RFC 2543) way to put a call on hold.
    pub address: IpAddr,
}

impl Connection {
    /// Whether this is the unspecified address (`0.0.0.0` or `::`), meaning "send nothing".
    pub fn is_hold(&self) -> bool {
        self.address.is_unspecified()
    }
}

/// `b=<bwtype>:<bandwidth>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// Bandwidth type, e.g. `AS`, `TIAS`, `CT`.
    pub kind: String,
    /// Value (kbit/s for `AS`/`CT`, bit/s for `TIAS`).
    pub value: u64,
}

/// `t=<start> <stop>` (NTP seconds; `0 0` for an unbounded session).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    /// Start time.
    pub start: u64,
    /// Stop time.
    pub stop: u64,
}

/// A session-level line kept verbatim (`u= e= p= t= r= z= k=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraLine {
    /// The type letter.
    pub kind: char,
    /// Everything after `=`.
    pub value: String,
}

/// Media direction attribute (RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// `a=sendrecv` (the default when absent).
    #[default]
    SendRecv,
    /// `a=sendonly`: the writer sends but does not want to receive.
    SendOnly,
    /// `a=recvonly`: the writer receives but will not send.
    RecvOnly,
    /// `a=inactive`: neither.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// Parses an attribute name (case-sensitive, as in RFC 4566).
    pub fn from_attribute(name: &str) -> Option<Self> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// Builds a direction from "may send" and "may receive".
    pub fn from_flags(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// Whether the writer of this direction sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether the writer of this direction receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same stream seen from the other end (sendonly ↔ recvonly).
    pub fn reversed(self) -> Self {
        Direction::from_flags(self.receives(), self.sends())
    }

    /// What both directions allow.
    pub fn intersect(self, other: Direction) -> Self {
        Direction::from_flags(self.sends() && other.sends(), self.receives() && other.receives())
    }
}

/// An `a=` attribute kept as written: `a=<name>` or `a=<name>:<value>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Attribute name.
    pub name: String,
    /// Value after the first `:`, if any.
    pub value: Option<String>,
}

/// Media type of an `m=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaType {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// Any other token (`text`, `application`, `image`, …), kept as written.
    Other(String),
}

impl MediaType {
    fn from_token(token: &str) -> Self {
        match token {
            "audio" => MediaType::Audio,
            "video" => MediaType::Video,
            other => MediaType::Other(other.to_owned()),
        }
    }

    /// The token used in SDP.
    pub fn as_str(&self) -> &str {
        match self {
            MediaType::Audio => "audio",
            MediaType::Video => "video",
            MediaType::Other(s) => s,
        }
    }
}

/// Transport protocol of an `m=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportProtocol {
    /// `RTP/AVP`: plain RTP, the one G.711 trunks and softphones use.
    RtpAvp,
    /// `RTP/AVPF`: RTP with RTCP feedback (compatible with plain RTP for our purpose).
    RtpAvpf,
    /// `RTP/SAVP`: SRTP.
    RtpSavp,
    /// `RTP/SAVPF`: SRTP with feedback.
    RtpSavpf,
    /// Any other protocol (`UDP/TLS/RTP/SAVPF`, `udptl`, …), kept as written.
    Other(String),
}

impl TransportProtocol {
    fn from_token(token: &str) -> Self {
        match token {
            "RTP/AVP" => TransportProtocol::RtpAvp,
            "RTP/AVPF" => TransportProtocol::RtpAvpf,
            "RTP/SAVP" => TransportProtocol::RtpSavp,
            "RTP/SAVPF" => TransportProtocol::RtpSavpf,
            other => TransportProtocol::Other(other.to_owned()),
        }
    }

    /// The token used in SDP.
    pub fn as_str(&self) -> &str {
        match self {
            TransportProtocol::RtpAvp => "RTP/AVP",
            TransportProtocol::RtpAvpf => "RTP/AVPF",
            TransportProtocol::RtpSavp => "RTP/SAVP",
            TransportProtocol::RtpSavpf => "RTP/SAVPF",
            TransportProtocol::Other(s) => s,
        }
    }

    /// Whether the format list holds RTP payload type numbers.
    pub fn is_rtp(&self) -> bool {
        match self {
            TransportProtocol::Other(s) => s.split('/').any(|part| part == "RTP"),
            _ => true,
        }
    }
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// RTP payload type (0–127).
    pub payload_type: u8,
    /// Encoding name as written (compare case-insensitively).
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters (channels for audio), if given.
    pub channels: Option<u16>,
}

/// `a=fmtp:<payload type> <parameters>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    /// RTP payload type (0–127).
    pub payload_type: u8,
    /// Format parameters, kept as written (e.g. `0-15`).
    pub params: String,
}

/// `a=rtcp:<port> [IN IP4|IP6 <address>]` (RFC 3605).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtcp {
    /// RTCP port.
    pub port: u16,
    /// RTCP address, when it differs from the RTP one.
    pub connection: Option<Connection>,
}

/// One `m=` section with the attributes kefu uses typed and the rest kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// Media type.
    pub media: MediaType,
    /// Transport port; 0 rejects (in an answer) or disables the stream.
    pub port: u16,
    /// `/<number of ports>` after the port, if given.
    pub port_count: Option<u16>,
    /// Transport protocol.
    pub protocol: TransportProtocol,
    /// Format list: RTP payload type numbers for RTP protocols, in preference order.
    pub formats: Vec<String>,
    /// `i=`.
    pub information: Option<String>,
    /// `c=` for this section (overrides the session's).
    pub connection: Option<Connection>,
    /// `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `k=` (obsolete encryption key), kept verbatim.
    pub key: Option<String>,
    /// `a=rtpmap` lines.
    pub rtpmaps: Vec<RtpMap>,
    /// `a=fmtp` lines.
    pub fmtps: Vec<Fmtp>,
    /// `a=ptime` in milliseconds.
    pub ptime: Option<u32>,
    /// `a=maxptime` in milliseconds.
    pub maxptime: Option<u32>,
    /// `a=rtcp`.
    pub rtcp: Option<Rtcp>,
    /// Media-level direction attribute, if present.
    pub direction: Option<Direction>,
    /// Other attributes, in order.
    pub attributes: Vec<Attribute>,
}

impl MediaDescription {
    /// A new section with no attributes.
    pub fn new(media: MediaType, port: u16, protocol: TransportProtocol, formats: Vec<String>) -> Self {
        MediaDescription {
            media,
            port,
            port_count: None,
            protocol,
            formats,
            information: None,
            connection: None,
            bandwidths: Vec::new(),
            key: None,
            rtpmaps: Vec::new(),
            fmtps: Vec::new(),
            ptime: None,
            maxptime: None,
            rtcp: None,
            direction: None,
            attributes: Vec::new(),
        }
    }

    /// The `a=rtpmap` for a payload type, if any.
    pub fn rtpmap(&self, payload_type: u8) -> Option<&RtpMap> {
        self.rtpmaps.iter().find(|m| m.payload_type == payload_type)
    }

    /// The `a=fmtp` for a payload type, if any.
    pub fn fmtp(&self, payload_type: u8) -> Option<&Fmtp> {
        self.fmtps.iter().find(|f| f.payload_type == payload_type)
    }

    /// Format list entries that are RTP payload types, in order (others skipped).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse::<u8>().ok()).filter(|pt| *pt <= 127)
    }

    /// Unknown attributes with this name.
    pub fn attributes_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Attribute> + 'a {
        self.attributes.iter().filter(move |a| a.name == name)
    }
}

impl SessionDescription {
    /// The connection that applies to media section `index` (its own, else the session's).
    pub fn media_connection(&self, index: usize) -> Option<Connection> {
        self.media.get(index).and_then(|m| m.connection).or(self.connection)
    }

    /// The direction that applies to media section `index` (its own, else the session's, else
    /// sendrecv), as written — not adjusted for a `0.0.0.0` connection.
    pub fn media_direction(&self, index: usize) -> Direction {
        self.media.get(index).and_then(|m| m.direction).or(self.direction).unwrap_or_default()
    }
}
