//! The SDP parser: text (CRLF or LF line ends) to [`SessionDescription`], with errors that
//! name the offending line.

use std::fmt;
use std::net::IpAddr;

use super::{
    AddressType, Attribute, Bandwidth, Connection, Direction, ExtraLine, Fmtp, MediaDescription, MediaType, Origin,
    Rtcp, RtpMap, SessionDescription, Timing, TransportProtocol,
};

/// Longest excerpt of the offending line kept in an error.
const MAX_ERROR_TEXT: usize = 80;

/// Why a session description was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SdpError {
    /// 1-based line number; `None` when something is missing at the end of the input.
    pub line: Option<usize>,
    /// The offending line (cut to 80 characters); empty when `line` is `None`.
    pub text: String,
    /// What is wrong with it.
    pub kind: SdpErrorKind,
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "sdp line {line} ({:?}): {}", self.text, self.kind),
            None => write!(f, "sdp: {}", self.kind),
        }
    }
}

/// What is wrong with a session description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpErrorKind {
    /// The input is not UTF-8.
    #[error("not valid UTF-8")]
    NotUtf8,
    /// A NUL or a bare CR inside a line.
    #[error("control character inside a line")]
    InvalidCharacter,
    /// Not of the form `<letter>=<value>`.
    #[error("not a `<type>=<value>` line")]
    MalformedLine,
    /// A type letter RFC 4566 does not define (the whole description must then be ignored).
    #[error("unknown line type `{0}`")]
    UnknownType(char),
    /// A known line in the wrong place (e.g. `o=` inside a media section, `v=` not first).
    #[error("`{0}=` line not allowed here")]
    UnexpectedLine(char),
    /// A line that may appear only once appeared again.
    #[error("duplicate `{0}=` line")]
    DuplicateLine(char),
    /// A required line is missing.
    #[error("missing `{0}=` line")]
    MissingLine(char),
    /// `v=` is not `0`.
    #[error("unsupported version")]
    InvalidVersion,
    /// Bad `o=` line.
    #[error("invalid origin")]
    InvalidOrigin,
    /// Bad `c=` line (or not a unicast IN IP4/IP6 address).
    #[error("invalid connection")]
    InvalidConnection,
    /// Bad `b=` line.
    #[error("invalid bandwidth")]
    InvalidBandwidth,
    /// Bad `t=` line.
    #[error("invalid timing")]
    InvalidTiming,
    /// Bad `m=` line.
    #[error("invalid media line")]
    InvalidMedia,
    /// A known attribute with a bad value (`rtpmap`, `fmtp`, `ptime`, `maxptime`, `rtcp`), or
    /// an attribute with no name.
    #[error("invalid `{0}` attribute")]
    InvalidAttribute(&'static str),
    /// A typed attribute (direction, `ptime`, `rtpmap` for one payload type, …) given twice at
    /// the same level.
    #[error("duplicate `{0}` attribute")]
    DuplicateAttribute(&'static str),
}

/// One line's position and text, for errors.
#[derive(Clone, Copy)]
struct Line<'a> {
    number: usize,
    text: &'a str,
}

impl Line<'_> {
    fn error(&self, kind: SdpErrorKind) -> SdpError {
        let mut end = self.text.len().min(MAX_ERROR_TEXT);
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        SdpError { line: Some(self.number), text: self.text[..end].to_owned(), kind }
    }
}

fn missing(kind: char) -> SdpError {
    SdpError { line: None, text: String::new(), kind: SdpErrorKind::MissingLine(kind) }
}

/// Rank of a kept session-level line in canonical order (`u e p` before `c`, the rest after `t`).
pub(super) fn extra_rank(kind: char) -> u8 {
    match kind {
        'u' => 1,
        'e' => 2,
        'p' => 3,
        't' | 'r' => 4,
        'z' => 5,
        _ => 6, // 'k'
    }
}

impl SessionDescription {
    /// Parses a session description from bytes (must be UTF-8).
    pub fn parse_bytes(input: &[u8]) -> Result<Self, SdpError> {
        let text = std::str::from_utf8(input).map_err(|_| SdpError {
            line: None,
            text: String::new(),
            kind: SdpErrorKind::NotUtf8,
        })?;
        Self::parse(text)
    }

    /// Parses a session description. Lines may end in CRLF or LF; blank lines are skipped.
    pub fn parse(input: &str) -> Result<Self, SdpError> {
        let mut version: Option<u32> = None;
        let mut origin: Option<Origin> = None;
        let mut session_name: Option<String> = None;
        let mut information: Option<String> = None;
        let mut connection: Option<Connection> = None;
        let mut bandwidths = Vec::new();
        let mut timing: Option<Timing> = None;
        let mut extra_lines = Vec::new();
        let mut direction: Option<Direction> = None;
        let mut attributes = Vec::new();
        let mut media: Vec<MediaDescription> = Vec::new();

        for (index, raw) in input.split('\n').enumerate() {
            let text = raw.strip_suffix('\r').unwrap_or(raw);
            let line = Line { number: index + 1, text };
            if text.is_empty() {
                continue;
            }
            if text.contains(['\r', '\0']) {
                return Err(line.error(SdpErrorKind::InvalidCharacter));
            }
            let (kind, value) = split_line(text).ok_or_else(|| line.error(SdpErrorKind::MalformedLine))?;
            if !"vosiuepcbtrzkam".contains(kind) {
                return Err(line.error(SdpErrorKind::UnknownType(kind)));
            }
            if version.is_none() && kind != 'v' {
                return Err(line.error(SdpErrorKind::UnexpectedLine(kind)));
            }

            if let Some(section) = media.last_mut() {
                match kind {
                    'm' => media.push(parse_media(value, line)?),
                    'i' => set_once(&mut section.information, value.to_owned(), kind, line)?,
                    'c' => set_once(&mut section.connection, parse_connection(value, line)?, kind, line)?,
                    'b' => section.bandwidths.push(parse_bandwidth(value, line)?),
                    'k' => set_once(&mut section.key, value.to_owned(), kind, line)?,
                    'a' => parse_media_attribute(section, value, line)?,
                    other => return Err(line.error(SdpErrorKind::UnexpectedLine(other))),
                }
                continue;
            }

            match kind {
                'v' => {
                    if version.is_some() {
                        return Err(line.error(SdpErrorKind::DuplicateLine('v')));
                    }
                    if value != "0" {
                        return Err(line.error(SdpErrorKind::InvalidVersion));
                    }
                    version = Some(0);
                }
                'o' => set_once(&mut origin, parse_origin(value, line)?, kind, line)?,
                's' => set_once(&mut session_name, value.to_owned(), kind, line)?,
                'i' => set_once(&mut information, value.to_owned(), kind, line)?,
                'c' => set_once(&mut connection, parse_connection(value, line)?, kind, line)?,
                'b' => bandwidths.push(parse_bandwidth(value, line)?),
                't' if timing.is_none() => timing = Some(parse_timing(value, line)?),
                't' => {
                    parse_timing(value, line)?;
                    extra_lines.push(ExtraLine { kind, value: value.to_owned() });
                }
                'u' | 'e' | 'p' | 'r' | 'z' | 'k' => extra_lines.push(ExtraLine { kind, value: value.to_owned() }),
                'a' => match parse_attribute(value, line)? {
                    Parsed::Direction(d) => set_attribute_once(&mut direction, d, "direction", line)?,
                    Parsed::Other(a) => attributes.push(a),
                },
                'm' => media.push(parse_media(value, line)?),
                other => return Err(line.error(SdpErrorKind::UnexpectedLine(other))),
            }
        }

        extra_lines.sort_by_key(|l: &ExtraLine| extra_rank(l.kind));
        Ok(SessionDescription {
            version: version.ok_or_else(|| missing('v'))?,
            origin: origin.ok_or_else(|| missing('o'))?,
            session_name: session_name.ok_or_else(|| missing('s'))?,
            information,
            connection,
            bandwidths,
            // Lenient: a few old devices omit `t=`; it carries nothing for a phone call.
            timing: timing.unwrap_or_default(),
            extra_lines,
            direction,
            attributes,
            media,
        })
    }
}

/// Splits `x=value` into the type letter and the value.
fn split_line(text: &str) -> Option<(char, &str)> {
    let mut chars = text.chars();
    let kind = chars.next()?;
    let rest = chars.as_str().strip_prefix('=')?;
    kind.is_ascii_lowercase().then_some((kind, rest))
}

fn set_once<T>(slot: &mut Option<T>, value: T, kind: char, line: Line<'_>) -> Result<(), SdpError> {
    if slot.is_some() {
        return Err(line.error(SdpErrorKind::DuplicateLine(kind)));
    }
    *slot = Some(value);
    Ok(())
}

fn set_attribute_once<T>(slot: &mut Option<T>, value: T, name: &'static str, line: Line<'_>) -> Result<(), SdpError> {
    if slot.is_some() {
        return Err(line.error(SdpErrorKind::DuplicateAttribute(name)));
    }
    *slot = Some(value);
    Ok(())
}

fn parse_origin(value: &str, line: Line<'_>) -> Result<Origin, SdpError> {
    let bad = || line.error(SdpErrorKind::InvalidOrigin);
    let fields: Vec<&str> = value.split_whitespace().collect();
    let [username, session_id, session_version, net, addr_type, address] = fields.as_slice() else {
        return Err(bad());
    };
    if *net != "IN" {
        return Err(bad());
    }
    Ok(Origin {
        username: (*username).to_owned(),
        session_id: session_id.parse().map_err(|_| bad())?,
        session_version: session_version.parse().map_err(|_| bad())?,
        address_type: parse_address_type(addr_type).ok_or_else(bad)?,
        address: (*address).to_owned(),
    })
}

fn parse_address_type(token: &str) -> Option<AddressType> {
    match token {
        "IP4" => Some(AddressType::Ip4),
        "IP6" => Some(AddressType::Ip6),
        _ => None,
    }
}

/// Parses `IN IP4|IP6 <address>` (used by `c=` and `a=rtcp`).
fn parse_net_address(fields: &[&str]) -> Option<Connection> {
    let [net, addr_type, address] = fields else {
        return None;
    };
    if *net != "IN" {
        return None;
    }
    let address: IpAddr = address.parse().ok()?;
    (parse_address_type(addr_type)? == AddressType::of(address)).then_some(Connection { address })
}

fn parse_connection(value: &str, line: Line<'_>) -> Result<Connection, SdpError> {
    let fields: Vec<&str> = value.split_whitespace().collect();
    parse_net_address(&fields).ok_or_else(|| line.error(SdpErrorKind::InvalidConnection))
}

fn parse_bandwidth(value: &str, line: Line<'_>) -> Result<Bandwidth, SdpError> {
    let bad = || line.error(SdpErrorKind::InvalidBandwidth);
    let (kind, amount) = value.split_once(':').ok_or_else(bad)?;
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(bad());
    }
    Ok(Bandwidth { kind: kind.to_owned(), value: amount.trim().parse().map_err(|_| bad())? })
}

fn parse_timing(value: &str, line: Line<'_>) -> Result<Timing, SdpError> {
    let bad = || line.error(SdpErrorKind::InvalidTiming);
    let fields: Vec<&str> = value.split_whitespace().collect();
    let [start, stop] = fields.as_slice() else {
        return Err(bad());
    };
    Ok(Timing { start: start.parse().map_err(|_| bad())?, stop: stop.parse().map_err(|_| bad())? })
}

fn parse_media(value: &str, line: Line<'_>) -> Result<MediaDescription, SdpError> {
    let bad = || line.error(SdpErrorKind::InvalidMedia);
    let mut fields = value.split_whitespace();
    let media = fields.next().ok_or_else(bad)?;
    let port_field = fields.next().ok_or_else(bad)?;
    let protocol = TransportProtocol::from_token(fields.next().ok_or_else(bad)?);
    let formats: Vec<String> = fields.map(str::to_owned).collect();
    let (port, port_count) = match port_field.split_once('/') {
        Some((port, count)) => (port, Some(count.parse::<u16>().map_err(|_| bad())?)),
        None => (port_field, None),
    };
    let port: u16 = port.parse().map_err(|_| bad())?;
    if protocol.is_rtp() && formats.iter().any(|f| parse_payload_type(f).is_none()) {
        return Err(bad());
    }
    let mut section = MediaDescription::new(MediaType::from_token(media), port, protocol, formats);
    section.port_count = port_count;
    Ok(section)
}

/// An RTP payload type: a decimal number 0–127.
fn parse_payload_type(text: &str) -> Option<u8> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u8>().ok().filter(|pt| *pt <= 127)
}

enum Parsed {
    Direction(Direction),
    Other(Attribute),
}

fn parse_attribute(value: &str, line: Line<'_>) -> Result<Parsed, SdpError> {
    let (name, value) = match value.split_once(':') {
        Some((name, value)) => (name, Some(value)),
        None => (value, None),
    };
    if name.is_empty() {
        return Err(line.error(SdpErrorKind::InvalidAttribute("a")));
    }
    if value.is_none()
        && let Some(direction) = Direction::from_attribute(name)
    {
        return Ok(Parsed::Direction(direction));
    }
    Ok(Parsed::Other(Attribute { name: name.to_owned(), value: value.map(str::to_owned) }))
}

fn parse_media_attribute(section: &mut MediaDescription, value: &str, line: Line<'_>) -> Result<(), SdpError> {
    let attribute = match parse_attribute(value, line)? {
        Parsed::Direction(d) => return set_attribute_once(&mut section.direction, d, "direction", line),
        Parsed::Other(a) => a,
    };
    let name = attribute.name.as_str();
    let known: &'static str = match name {
        "rtpmap" => "rtpmap",
        "fmtp" => "fmtp",
        "ptime" => "ptime",
        "maxptime" => "maxptime",
        "rtcp" => "rtcp",
        _ => {
            section.attributes.push(attribute);
            return Ok(());
        }
    };
    let bad = || line.error(SdpErrorKind::InvalidAttribute(known));
    let text = attribute.value.as_deref().ok_or_else(bad)?;
    match known {
        "rtpmap" => {
            let map = parse_rtpmap(text).ok_or_else(bad)?;
            if section.rtpmap(map.payload_type).is_some() {
                return Err(line.error(SdpErrorKind::DuplicateAttribute("rtpmap")));
            }
            section.rtpmaps.push(map);
        }
        "fmtp" => {
            let (pt, params) = match text.split_once([' ', '\t']) {
                Some((pt, params)) => (pt, params.trim_start_matches([' ', '\t'])),
                None => (text, ""),
            };
            let payload_type = parse_payload_type(pt).ok_or_else(bad)?;
            if section.fmtp(payload_type).is_some() {
                return Err(line.error(SdpErrorKind::DuplicateAttribute("fmtp")));
            }
            section.fmtps.push(Fmtp { payload_type, params: params.to_owned() });
        }
        "ptime" => {
            let ms = text.trim().parse().map_err(|_| bad())?;
            set_attribute_once(&mut section.ptime, ms, "ptime", line)?;
        }
        "maxptime" => {
            let ms = text.trim().parse().map_err(|_| bad())?;
            set_attribute_once(&mut section.maxptime, ms, "maxptime", line)?;
        }
        _ => {
            let fields: Vec<&str> = text.split_whitespace().collect();
            let (port, rest) = fields.split_first().ok_or_else(bad)?;
            let port: u16 = port.parse().map_err(|_| bad())?;
            let connection = match rest {
                [] => None,
                rest => Some(parse_net_address(rest).ok_or_else(bad)?),
            };
            set_attribute_once(&mut section.rtcp, Rtcp { port, connection }, "rtcp", line)?;
        }
    }
    Ok(())
}

fn parse_rtpmap(text: &str) -> Option<RtpMap> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [pt, encoding] = fields.as_slice() else {
        return None;
    };
    let mut parts = encoding.split('/');
    let name = parts.next().filter(|n| !n.is_empty())?;
    let clock_rate = parts.next()?.parse().ok()?;
    let channels = match parts.next() {
        Some(ch) => Some(ch.parse().ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(RtpMap { payload_type: parse_payload_type(pt)?, encoding: name.to_owned(), clock_rate, channels })
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::super::samples;
    use super::*;

    fn parse(text: &str) -> SessionDescription {
        match SessionDescription::parse(text) {
            Ok(sdp) => sdp,
            Err(e) => panic!("{e}"),
        }
    }

    fn error(text: &str) -> SdpError {
        match SessionDescription::parse(text) {
            Ok(sdp) => panic!("parsed: {sdp:?}"),
            Err(e) => e,
        }
    }

    const HEAD: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n";

    #[test]
    fn parses_the_baresip_offer_into_typed_fields() {
        let sdp = parse(samples::BARESIP_OFFER);
        assert_eq!(sdp.version, 0);
        assert_eq!(
            sdp.origin,
            Origin {
                username: "-".into(),
                session_id: 1_689_163_922,
                session_version: 2_730_517_393,
                address_type: AddressType::Ip4,
                address: "192.168.1.23".into(),
            }
        );
        assert_eq!(sdp.session_name, "-");
        assert_eq!(sdp.connection, Some(Connection { address: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 23)) }));
        assert_eq!(sdp.timing, Timing { start: 0, stop: 0 });
        assert_eq!(sdp.media.len(), 1);
        let audio = &sdp.media[0];
        assert_eq!(audio.media, MediaType::Audio);
        assert_eq!(audio.port, 10124);
        assert_eq!(audio.protocol, TransportProtocol::RtpAvp);
        assert_eq!(audio.formats, ["96", "0", "8", "101"]);
        assert_eq!(audio.payload_types().collect::<Vec<_>>(), [96, 0, 8, 101]);
        assert_eq!(audio.bandwidths, [Bandwidth { kind: "AS".into(), value: 94 }]);
        assert_eq!(
            audio.rtpmap(96),
            Some(&RtpMap { payload_type: 96, encoding: "opus".into(), clock_rate: 48000, channels: Some(2) })
        );
        assert_eq!(
            audio.rtpmap(101),
            Some(&RtpMap { payload_type: 101, encoding: "telephone-event".into(), clock_rate: 8000, channels: None })
        );
        assert_eq!(audio.fmtp(101).map(|f| f.params.as_str()), Some("0-15"));
        assert_eq!(audio.fmtp(96).map(|f| f.params.as_str()), Some("stereo=1;sprop-stereo=1"));
        assert_eq!(audio.ptime, Some(20));
        assert_eq!(audio.direction, Some(Direction::SendRecv));
        // Unknown attributes are kept, in order, with and without values.
        let names: Vec<_> = audio.attributes.iter().map(|a| (a.name.as_str(), a.value.as_deref())).collect();
        assert_eq!(
            names,
            [
                ("label", Some("1")),
                ("ssrc", Some("2795612731 cname:d8bd1b8e-5a6e-4a4b-a9a3-2b2ad4e0e8a1")),
                ("rtcp-rsize", None)
            ]
        );
    }

    #[test]
    fn linphone_offer_keeps_session_attributes_and_both_media_sections() {
        let sdp = parse(samples::LINPHONE_OFFER);
        assert_eq!(sdp.attributes.len(), 1);
        assert_eq!(sdp.attributes[0].name, "rtcp-xr");
        assert_eq!(sdp.media.len(), 2);
        assert_eq!(sdp.media[1].media, MediaType::Video);
        assert_eq!(sdp.media[1].port, 9078);
        // fmtp for a payload type without rtpmap (static G.729) is kept.
        assert_eq!(sdp.media[0].fmtp(18).map(|f| f.params.as_str()), Some("annexb=yes"));
        assert_eq!(sdp.media[0].attributes_named("rtcp-fb").count(), 2);
        assert_eq!(sdp.media_direction(0), Direction::SendRecv);
        assert_eq!(sdp.media[0].direction, None);
    }

    #[test]
    fn ipv6_connection_and_rtcp_attribute() {
        let sdp = parse(samples::IPV6_OFFER);
        let v6: Ipv6Addr = "2001:db8::10".parse().unwrap();
        assert_eq!(sdp.origin.address_type, AddressType::Ip6);
        assert_eq!(sdp.connection, Some(Connection { address: IpAddr::V6(v6) }));
        let rtcp = sdp.media[0].rtcp.unwrap();
        assert_eq!(rtcp.port, 49171);
        assert_eq!(rtcp.connection.unwrap().address, "2001:db8::11".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn crlf_and_lf_line_ends_parse_the_same() {
        for sample in samples::ALL {
            let lf = sample.replace("\r\n", "\n");
            let crlf = lf.replace('\n', "\r\n");
            assert_eq!(parse(&lf), parse(&crlf));
        }
    }

    #[test]
    fn serializes_canonical_crlf_text() {
        let text = "v=0\no=- 7 8 IN IP4 10.0.0.1\ns=call\nt=0 0\nc=IN IP4 10.0.0.1\na=tool:x\nu=http://x\n\
                    m=audio 4000 RTP/AVP 8 101\na=sendonly\na=x-foo\na=fmtp:101 0-15\na=rtpmap:101 telephone-event/8000\n\
                    a=ptime:20\na=rtcp:4001\n";
        let expected = "v=0\r\no=- 7 8 IN IP4 10.0.0.1\r\ns=call\r\nu=http://x\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
                        a=tool:x\r\nm=audio 4000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n\
                        a=fmtp:101 0-15\r\na=ptime:20\r\na=rtcp:4001\r\na=sendonly\r\na=x-foo\r\n";
        assert_eq!(parse(text).to_string(), expected);
    }

    #[test]
    fn every_sample_round_trips() {
        for sample in samples::ALL {
            let sdp = parse(sample);
            let text = sdp.to_string();
            assert!(text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'));
            assert_eq!(parse(&text), sdp, "{text}");
        }
    }

    #[test]
    fn samples_in_canonical_order_serialize_byte_for_byte() {
        // These samples are already in canonical order, so writing them back changes nothing.
        for sample in [samples::CARRIER_PCMA_OFFER, samples::HOLD_SENDONLY_OFFER, samples::IPV6_OFFER] {
            assert_eq!(parse(sample).to_string(), *sample);
        }
    }

    #[test]
    fn port_count_and_other_session_lines_survive() {
        let text = "v=0\r\no=- 1 1 IN IP4 h.example.com\r\ns= \r\ni=info\r\ne=ops@example.com\r\n\
                    c=IN IP4 10.0.0.1\r\nb=CT:128\r\nt=10 20\r\nt=30 40\r\nr=7d 1h 0 25h\r\nk=prompt\r\n\
                    m=audio 4000/2 RTP/AVP 0\r\ni=main\r\nb=TIAS:64000\r\nk=clear:abc\r\na=maxptime:40\r\n";
        let sdp = parse(text);
        assert_eq!(sdp.origin.address, "h.example.com");
        assert_eq!(sdp.session_name, " ");
        assert_eq!(sdp.timing, Timing { start: 10, stop: 20 });
        let kinds: Vec<char> = sdp.extra_lines.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, ['e', 't', 'r', 'k']);
        assert_eq!(sdp.media[0].port_count, Some(2));
        assert_eq!(sdp.media[0].maxptime, Some(40));
        assert_eq!(sdp.media[0].key.as_deref(), Some("clear:abc"));
        assert_eq!(sdp.to_string(), text);
    }

    #[test]
    fn errors_name_the_offending_line() {
        let cases: Vec<(String, usize, SdpErrorKind)> = vec![
            ("o=- 1 1 IN IP4 1.2.3.4\r\n".into(), 1, SdpErrorKind::UnexpectedLine('o')),
            ("v=1\r\n".into(), 1, SdpErrorKind::InvalidVersion),
            ("v=0\r\no=- x 1 IN IP4 1.2.3.4\r\n".into(), 2, SdpErrorKind::InvalidOrigin),
            ("v=0\r\no=- 1 1 ATM NSAP x\r\n".into(), 2, SdpErrorKind::InvalidOrigin),
            (format!("{HEAD}m=audio 99999 RTP/AVP 0\r\n"), 6, SdpErrorKind::InvalidMedia),
            (format!("{HEAD}m=audio 4000 RTP/AVP 0 PCMU\r\n"), 6, SdpErrorKind::InvalidMedia),
            (format!("{HEAD}m=audio 4000 RTP/AVP 128\r\n"), 6, SdpErrorKind::InvalidMedia),
            (format!("{HEAD}m=audio 4000\r\n"), 6, SdpErrorKind::InvalidMedia),
            (format!("{HEAD}m=audio 4000 RTP/AVP 0\r\nc=IN IP4 300.1.1.1\r\n"), 7, SdpErrorKind::InvalidConnection),
            (format!("{HEAD}m=audio 4000 RTP/AVP 0\r\nc=IN IP6 10.0.0.1\r\n"), 7, SdpErrorKind::InvalidConnection),
            (format!("{HEAD}m=audio 4000 RTP/AVP 0\r\nc=IN IP4 224.2.1.1/127\r\n"), 7, SdpErrorKind::InvalidConnection),
            (
                format!("{HEAD}m=audio 4000 RTP/AVP 0\r\na=rtpmap:200 X/8000\r\n"),
                7,
                SdpErrorKind::InvalidAttribute("rtpmap"),
            ),
            (
                format!("{HEAD}m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n"),
                7,
                SdpErrorKind::InvalidAttribute("rtpmap"),
            ),
            (format!("{HEAD}m=audio 4000 RTP/AVP 0\r\na=ptime:twenty\r\n"), 7, SdpErrorKind::InvalidAttribute("ptime")),
            (format!("{HEAD}m=audio 4000 RTP/AVP 0\r\na=rtcp:x\r\n"), 7, SdpErrorKind::InvalidAttribute("rtcp")),
            (
                format!("{HEAD}m=audio 4000 RTP/AVP 0\r\na=sendonly\r\na=inactive\r\n"),
                8,
                SdpErrorKind::DuplicateAttribute("direction"),
            ),
            (
                format!("{HEAD}m=audio 4000 RTP/AVP 0\r\no=- 1 1 IN IP4 1.2.3.4\r\n"),
                7,
                SdpErrorKind::UnexpectedLine('o'),
            ),
            (format!("{HEAD}c=IN IP4 10.0.0.2\r\n"), 6, SdpErrorKind::DuplicateLine('c')),
            (format!("{HEAD}x=whatever\r\n"), 6, SdpErrorKind::UnknownType('x')),
            (format!("{HEAD}a=\r\n"), 6, SdpErrorKind::InvalidAttribute("a")),
            (format!("{HEAD}m audio\r\n"), 6, SdpErrorKind::MalformedLine),
            (format!("{HEAD}s=a\0b\r\n"), 6, SdpErrorKind::InvalidCharacter),
            (format!("{HEAD}s=a\rb\r\n"), 6, SdpErrorKind::InvalidCharacter),
            (format!("{HEAD}b=AS\r\n"), 6, SdpErrorKind::InvalidBandwidth),
            (format!("{HEAD}t=0\r\n"), 6, SdpErrorKind::InvalidTiming),
        ];
        for (text, line, kind) in cases {
            let e = error(&text);
            assert_eq!((e.line, &e.kind), (Some(line), &kind), "{text:?}");
            let offending = text.split('\n').nth(line - 1).unwrap().trim_end_matches('\r');
            assert_eq!(e.text, offending);
            assert!(e.to_string().contains(&format!("line {line}")), "{e}");
        }
    }

    #[test]
    fn missing_required_lines_are_reported() {
        assert_eq!(error("").kind, SdpErrorKind::MissingLine('v'));
        assert_eq!(error("v=0\r\ns=-\r\n").kind, SdpErrorKind::MissingLine('o'));
        let e = error("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n");
        assert_eq!((e.line, e.kind), (None, SdpErrorKind::MissingLine('s')));
        // `t=` is the one required line we default, for old devices that leave it out.
        assert_eq!(parse("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\n").timing, Timing::default());
    }

    #[test]
    fn non_utf8_and_long_multibyte_lines_do_not_panic() {
        assert_eq!(SessionDescription::parse_bytes(b"v=0\r\n\xff\r\n").unwrap_err().kind, SdpErrorKind::NotUtf8);
        let long = format!("{HEAD}m=audio {} RTP/AVP 0\r\n", "é".repeat(100));
        let e = error(&long);
        assert_eq!(e.kind, SdpErrorKind::InvalidMedia);
        assert!(e.text.len() <= MAX_ERROR_TEXT && long.contains(&e.text));
    }

    /// Lines that look like SDP, to reach deep into the parser (mostly valid, some not).
    fn sdp_line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("v=0".to_owned()),
            "o=[-a-z]{1,4} [0-9]{1,21} [0-9]{1,3} IN IP[46] [0-9a-f.:]{1,12}",
            "s=[ -~]{0,8}",
            "[iuepkrz]=[ -~é]{0,8}",
            "c=IN IP[46] (0\\.0\\.0\\.0|10\\.0\\.0\\.[0-9]{1,3}|::1?|[0-9a-f:.]{1,10})",
            "b=[A-Z]{0,3}:[0-9]{0,5}",
            "t=[0-9]{1,3} [0-9]{1,3}",
            "m=(audio|video|x) [0-9]{1,5}(/[0-9])? (RTP/AVP|RTP/SAVP|udptl)( [0-9a-z]{1,3}){0,4}",
            "a=(rtpmap|fmtp|ptime|maxptime|rtcp|sendonly|recvonly|inactive|sendrecv|x-y)(:[ -~]{0,16})?",
            "[ -~]{0,10}",
        ]
    }

    fn session_line() -> impl Strategy<Value = String> {
        prop_oneof![
            "[siuepkrz]=[ -~é]{0,8}",
            "c=IN IP4 (0\\.0\\.0\\.0|10\\.0\\.0\\.[0-9]{1,2})",
            "c=IN IP6 (::|::1|2001:db8::[0-9a-f]{1,4})",
            "b=(AS|CT|TIAS):[0-9]{1,5}",
            "t=[0-9]{1,3} [0-9]{1,3}",
            "a=(sendonly|recvonly|inactive|sendrecv)",
            "a=[a-z-]{1,8}(:[ -~]{0,12})?",
        ]
    }

    fn media_line() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ik]=[ -~é]{0,8}",
            "c=IN IP4 (0\\.0\\.0\\.0|10\\.0\\.0\\.[0-9]{1,2})",
            "b=(AS|TIAS):[0-9]{1,5}",
            "a=rtpmap:[0-9]{1,2} [A-Za-z-]{1,6}/[0-9]{1,5}(/[0-9])?",
            "a=fmtp:[0-9]{1,2}([ \t][ -~]{0,10})?",
            "a=(ptime|maxptime):[0-9]{1,3}",
            "a=rtcp:[0-9]{1,5}( IN IP4 10\\.0\\.0\\.1)?",
            "a=(sendonly|recvonly|inactive|sendrecv)",
            "a=[a-z-]{1,8}(:[ -~]{0,12})?",
        ]
    }

    /// Text that is usually a valid description, in any line order and with any line ends.
    fn sdp_text() -> impl Strategy<Value = String> {
        let media = (
            "m=(audio|video|x) [0-9]{1,4}(/2)? (RTP/AVP|udptl)( [0-9]{1,2}){0,4}",
            prop::collection::vec(media_line(), 0..6),
        );
        (
            prop::collection::vec(session_line(), 0..6),
            prop::collection::vec(media, 0..3),
            prop_oneof![Just("\r\n"), Just("\n")],
        )
            .prop_map(|(session, media, ending)| {
                let mut lines = vec!["v=0".to_owned(), "o=- 1 1 IN IP4 10.0.0.1".to_owned(), "s=-".to_owned()];
                lines.extend(session);
                for (m, attrs) in media {
                    lines.push(m);
                    lines.extend(attrs);
                }
                lines.iter().map(|l| format!("{l}{ending}")).collect()
            })
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = SessionDescription::parse(&text);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = SessionDescription::parse_bytes(&bytes);
        }

        #[test]
        fn sdp_like_lines_never_panic(lines in prop::collection::vec(sdp_line(), 0..16)) {
            let _ = SessionDescription::parse(&lines.join("\n"));
        }

        #[test]
        fn parsed_descriptions_round_trip(text in sdp_text()) {
            if let Ok(sdp) = SessionDescription::parse(&text) {
                let written = sdp.to_string();
                prop_assert_eq!(SessionDescription::parse(&written), Ok(sdp.clone()));
                // Canonical text is a fixed point.
                prop_assert_eq!(sdp.to_string(), written);
            }
        }
    }
}
