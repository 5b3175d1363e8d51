//! Offer/answer (RFC 3264) for kefu as a B2BUA media endpoint: one audio stream, G.711 and
//! RFC 4733 telephone-events, everything else rejected with port 0.

use std::net::{IpAddr, SocketAddr};

use super::{
    AddressType, Connection, Direction, Fmtp, MediaDescription, MediaType, Origin, RtpMap, SessionDescription, Timing,
    TransportProtocol,
};

/// Payload type kefu offers telephone-events on (answers reuse the offerer's).
pub const DEFAULT_TELEPHONE_EVENT_PT: u8 = 101;

/// Clock rate of G.711 and of the telephone-events that go with it.
const CLOCK_RATE: u32 = 8000;

/// Events kefu receives: the 16 DTMF keys (RFC 4733 §3.2).
const TELEPHONE_EVENT_FMTP: &str = "0-15";

/// A codec kefu's media engine speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// G.711 µ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
}

impl Codec {
    /// The static RTP payload type (RFC 3551).
    pub fn static_payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The encoding name used in `a=rtpmap`.
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// The codec for an encoding (name compared case-insensitively; 8 kHz mono only).
    pub fn from_encoding(name: &str, clock_rate: u32, channels: Option<u16>) -> Option<Self> {
        if clock_rate != CLOCK_RATE || channels.is_some_and(|c| c != 1) {
            return None;
        }
        [Codec::Pcmu, Codec::Pcma].into_iter().find(|c| c.encoding_name().eq_ignore_ascii_case(name))
    }

    fn rtpmap(self, payload_type: u8) -> RtpMap {
        RtpMap { payload_type, encoding: self.encoding_name().to_owned(), clock_rate: CLOCK_RATE, channels: None }
    }
}

/// What kefu's side of a call leg can do, and where it receives media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// Address the RTP socket is reachable at (written in `o=` and `c=`).
    pub address: IpAddr,
    /// RTP port (RTCP is expected on port + 1).
    pub port: u16,
    /// Codecs we speak. An offer lists them in this order; an answer picks the first the remote
    /// offered, in the remote's order.
    pub codecs: Vec<Codec>,
    /// Telephone-events: `None` to neither offer nor accept them; `Some(pt)` to accept them and
    /// to offer them on `pt` (answers use the offerer's payload type instead).
    pub telephone_event: Option<u8>,
    /// The direction we want (sendrecv; sendonly to put the remote on hold; inactive).
    pub direction: Direction,
    /// Packetisation time we ask for, in ms.
    pub ptime: Option<u32>,
    /// `o=` username.
    pub username: String,
    /// `o=` session id, fixed for the dialog.
    pub session_id: u64,
    /// `o=` session version; the caller must increase it for every new description in a dialog.
    pub session_version: u64,
}

impl LocalMedia {
    /// PCMU and PCMA, telephone-events on 101, sendrecv, 20 ms, username `kefu`.
    pub fn new(address: IpAddr, port: u16, session_id: u64, session_version: u64) -> Self {
        LocalMedia {
            address,
            port,
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event: Some(DEFAULT_TELEPHONE_EVENT_PT),
            direction: Direction::SendRecv,
            ptime: Some(20),
            username: "kefu".to_owned(),
            session_id,
            session_version,
        }
    }

    fn session(&self, media: Vec<MediaDescription>) -> SessionDescription {
        SessionDescription {
            version: 0,
            origin: Origin {
                username: self.username.clone(),
                session_id: self.session_id,
                session_version: self.session_version,
                address_type: AddressType::of(self.address),
                address: self.address.to_string(),
            },
            session_name: "kefu".to_owned(),
            information: None,
            connection: Some(Connection { address: self.address }),
            bandwidths: Vec::new(),
            timing: Timing::default(),
            extra_lines: Vec::new(),
            direction: None,
            attributes: Vec::new(),
            media,
        }
    }

    /// Our audio section with `codec_pts` (codec, payload type) and the telephone-event pt.
    fn audio_section(
        &self,
        protocol: TransportProtocol,
        codec_pts: &[(Codec, u8)],
        telephone_event: Option<u8>,
        direction: Direction,
    ) -> MediaDescription {
        let mut formats: Vec<String> = codec_pts.iter().map(|(_, pt)| pt.to_string()).collect();
        let mut section = MediaDescription::new(MediaType::Audio, self.port, protocol, Vec::new());
        section.rtpmaps = codec_pts.iter().map(|(codec, pt)| codec.rtpmap(*pt)).collect();
        if let Some(pt) = telephone_event {
            formats.push(pt.to_string());
            section.rtpmaps.push(RtpMap {
                payload_type: pt,
                encoding: "telephone-event".to_owned(),
                clock_rate: CLOCK_RATE,
                channels: None,
            });
            section.fmtps.push(Fmtp { payload_type: pt, params: TELEPHONE_EVENT_FMTP.to_owned() });
        }
        section.formats = formats;
        section.ptime = self.ptime;
        section.direction = Some(direction);
        section
    }
}

/// The outcome of offer/answer for the audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedMedia {
    /// Index of the audio `m=` line in the offer and the answer.
    pub media_index: usize,
    /// The codec both sides use.
    pub codec: Codec,
    /// Its payload type (as written by the offerer).
    pub payload_type: u8,
    /// Payload type of telephone-events, if both sides support them.
    pub telephone_event: Option<u8>,
    /// Where to send RTP; `None` when the remote gave no address, `0.0.0.0`, or port 0.
    pub remote_rtp: Option<SocketAddr>,
    /// Where to send RTCP (`a=rtcp`, else RTP port + 1).
    pub remote_rtcp: Option<SocketAddr>,
    /// Our direction: whether we may send and should expect to receive.
    pub direction: Direction,
    /// The remote does not want our media: it put us on hold (`sendonly`, `inactive`, or an
    /// RFC 2543 `c=0.0.0.0`), or refused the media we offered to send.
    pub remote_hold: bool,
    /// The remote's `a=ptime`, if any.
    pub remote_ptime: Option<u32>,
}

/// Why offer/answer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    /// No active `RTP/AVP` (or `RTP/AVPF`) audio stream to talk on.
    #[error("no usable audio stream (need an active RTP/AVP audio m-line)")]
    NoAudioStream,
    /// Audio offered, but in no codec kefu speaks.
    #[error("no common codec; offered: {}", offered.join(", "))]
    NoCommonCodec {
        /// The encodings offered on the audio streams (e.g. `opus/48000`, `G729/8000`).
        offered: Vec<String>,
    },
    /// The answer has a different number of `m=` lines than the offer (RFC 3264 §6).
    #[error("answer has {answered} m-lines, offer had {offered}")]
    MediaCountMismatch {
        /// m-lines in the offer.
        offered: usize,
        /// m-lines in the answer.
        answered: usize,
    },
    /// The remote answered our audio stream with port 0.
    #[error("remote rejected the audio stream")]
    AudioRejected,
}

impl NegotiationError {
    /// SIP status to reply with when this came from an offer: 488 Not Acceptable Here.
    pub fn sip_status(&self) -> u16 {
        488
    }
}

/// Whether kefu can talk on this section at all (before looking at codecs).
fn is_usable_audio(section: &MediaDescription) -> bool {
    section.media == MediaType::Audio
        && section.port != 0
        && matches!(section.protocol, TransportProtocol::RtpAvp | TransportProtocol::RtpAvpf)
}

/// The encoding of payload type `pt`: the first `a=rtpmap` found in `maps`, else the static
/// assignment (RFC 3551) for 0 and 8.
fn encoding_of<'a>(pt: u8, maps: &[&'a MediaDescription]) -> Option<(&'a str, u32, Option<u16>)> {
    if let Some(map) = maps.iter().find_map(|s| s.rtpmap(pt)) {
        return Some((map.encoding.as_str(), map.clock_rate, map.channels));
    }
    match pt {
        0 => Some(("PCMU", CLOCK_RATE, None)),
        8 => Some(("PCMA", CLOCK_RATE, None)),
        _ => None,
    }
}

fn is_telephone_event(pt: u8, maps: &[&MediaDescription]) -> bool {
    encoding_of(pt, maps)
        .is_some_and(|(name, clock, _)| name.eq_ignore_ascii_case("telephone-event") && clock == CLOCK_RATE)
}

/// RTP and RTCP addresses of a section (`None` for an unspecified address or port 0).
fn remote_addresses(sdp: &SessionDescription, index: usize) -> (Option<SocketAddr>, Option<SocketAddr>) {
    let Some(section) = sdp.media.get(index) else {
        return (None, None);
    };
    let connection = sdp.media_connection(index).filter(|c| !c.is_hold());
    let Some(Connection { address }) = connection else {
        return (None, None);
    };
    if section.port == 0 {
        return (None, None);
    }
    let rtp = SocketAddr::new(address, section.port);
    let rtcp = match section.rtcp {
        Some(rtcp) => match rtcp.connection {
            Some(c) if c.is_hold() => None,
            Some(c) => Some(SocketAddr::new(c.address, rtcp.port)),
            None => Some(SocketAddr::new(address, rtcp.port)),
        },
        None => section.port.checked_add(1).map(|port| SocketAddr::new(address, port)),
    };
    (Some(rtp), rtcp)
}

/// The direction a section really asks for: an RFC 2543 `c=0.0.0.0` hold means "send me
/// nothing" (RFC 3264 §8.4), whatever the attribute says.
fn effective_direction(sdp: &SessionDescription, index: usize) -> Direction {
    let written = sdp.media_direction(index);
    if sdp.media_connection(index).is_some_and(|c| c.is_hold()) {
        written.intersect(Direction::SendOnly)
    } else {
        written
    }
}

/// Answers a remote offer: accepts the first active audio stream that has a codec in common,
/// choosing the first such codec in the offer's order; every other stream gets port 0.
pub fn answer_offer(
    offer: &SessionDescription,
    local: &LocalMedia,
) -> Result<(SessionDescription, NegotiatedMedia), NegotiationError> {
    let mut chosen: Option<NegotiatedMedia> = None;
    let mut offered_encodings = Vec::new();
    let mut saw_audio = false;
    let mut sections = Vec::with_capacity(offer.media.len());

    for (index, section) in offer.media.iter().enumerate() {
        let accepted = if chosen.is_none() && is_usable_audio(section) {
            saw_audio = true;
            let maps = [section];
            let codec = section.payload_types().find_map(|pt| {
                let (name, clock, channels) = encoding_of(pt, &maps)?;
                let codec = Codec::from_encoding(name, clock, channels)?;
                local.codecs.contains(&codec).then_some((codec, pt))
            });
            if codec.is_none() {
                offered_encodings.extend(section.payload_types().map(|pt| match encoding_of(pt, &maps) {
                    Some((name, clock, _)) => format!("{name}/{clock}"),
                    None => format!("pt {pt}"),
                }));
            }
            codec
        } else {
            None
        };
        let Some((codec, payload_type)) = accepted else {
            // Rejected (RFC 3264 §6): same media and protocol, port 0, the offer's formats.
            let rejected =
                MediaDescription::new(section.media.clone(), 0, section.protocol.clone(), section.formats.clone());
            sections.push(rejected);
            continue;
        };

        let telephone_event =
            local.telephone_event.and_then(|_| section.payload_types().find(|pt| is_telephone_event(*pt, &[section])));
        let offer_direction = effective_direction(offer, index);
        let direction = offer_direction.reversed().intersect(local.direction);
        let (remote_rtp, remote_rtcp) = remote_addresses(offer, index);
        sections.push(local.audio_section(
            section.protocol.clone(),
            &[(codec, payload_type)],
            telephone_event,
            direction,
        ));
        chosen = Some(NegotiatedMedia {
            media_index: index,
            codec,
            payload_type,
            telephone_event,
            remote_rtp,
            remote_rtcp,
            direction,
            remote_hold: !offer_direction.receives(),
            remote_ptime: section.ptime,
        });
    }

    match chosen {
        Some(media) => Ok((local.session(sections), media)),
        None if saw_audio => Err(NegotiationError::NoCommonCodec { offered: offered_encodings }),
        None => Err(NegotiationError::NoAudioStream),
    }
}

/// Builds our offer (e.g. for the agent leg, or a hold re-INVITE with `direction` sendonly):
/// one `RTP/AVP` audio stream with our codecs on their static payload types.
pub fn build_offer(local: &LocalMedia) -> SessionDescription {
    let mut codec_pts: Vec<(Codec, u8)> = Vec::new();
    for codec in &local.codecs {
        if !codec_pts.iter().any(|(c, _)| c == codec) {
            codec_pts.push((*codec, codec.static_payload_type()));
        }
    }
    let section = local.audio_section(TransportProtocol::RtpAvp, &codec_pts, local.telephone_event, local.direction);
    local.session(vec![section])
}

/// Reads the remote's answer to `offer` (ours): the codec it chose, where to send, the
/// telephone-event payload type and the direction.
pub fn read_answer(
    offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<NegotiatedMedia, NegotiationError> {
    if offer.media.len() != answer.media.len() {
        return Err(NegotiationError::MediaCountMismatch { offered: offer.media.len(), answered: answer.media.len() });
    }
    let index = offer.media.iter().position(is_usable_audio).ok_or(NegotiationError::NoAudioStream)?;
    let (ours, theirs) = match (offer.media.get(index), answer.media.get(index)) {
        (Some(ours), Some(theirs)) => (ours, theirs),
        _ => return Err(NegotiationError::NoAudioStream),
    };
    if theirs.port == 0 {
        return Err(NegotiationError::AudioRejected);
    }
    let maps = [theirs, ours];
    let offered: Vec<u8> = ours.payload_types().collect();
    let (codec, payload_type) = theirs
        .payload_types()
        .filter(|pt| offered.contains(pt))
        .find_map(|pt| {
            let (name, clock, channels) = encoding_of(pt, &maps)?;
            Some((Codec::from_encoding(name, clock, channels)?, pt))
        })
        .ok_or_else(|| NegotiationError::NoCommonCodec {
            offered: theirs.formats.iter().map(|f| format!("pt {f}")).collect(),
        })?;
    let telephone_event =
        theirs.payload_types().filter(|pt| offered.contains(pt)).find(|pt| is_telephone_event(*pt, &maps));
    let our_offer = offer.media_direction(index);
    let their_answer = effective_direction(answer, index);
    let (remote_rtp, remote_rtcp) = remote_addresses(answer, index);
    Ok(NegotiatedMedia {
        media_index: index,
        codec,
        payload_type,
        telephone_event,
        remote_rtp,
        remote_rtcp,
        direction: their_answer.reversed().intersect(our_offer),
        remote_hold: our_offer.sends() && !their_answer.receives(),
        remote_ptime: theirs.ptime,
    })
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::super::samples;
    use super::*;

    const KEFU: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 1, 1, 1));

    fn parse(text: &str) -> SessionDescription {
        match SessionDescription::parse(text) {
            Ok(sdp) => sdp,
            Err(e) => panic!("{e}"),
        }
    }

    fn local() -> LocalMedia {
        LocalMedia::new(KEFU, 20000, 42, 1)
    }

    fn answer_text(offer: &str) -> (SessionDescription, NegotiatedMedia) {
        let offer = parse(offer);
        let (answer, media) = answer_offer(&offer, &local()).unwrap();
        // The answer is valid SDP that survives the wire, with one m-line per offered m-line.
        assert_eq!(parse(&answer.to_string()), answer);
        assert_eq!(answer.media.len(), offer.media.len());
        for (a, o) in answer.media.iter().zip(&offer.media) {
            assert_eq!((&a.media, &a.protocol), (&o.media, &o.protocol));
        }
        (answer, media)
    }

    fn sock(text: &str) -> Option<SocketAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn baresip_offer_gets_pcmu_not_opus_and_keeps_telephone_event() {
        let (answer, media) = answer_text(samples::BARESIP_OFFER);
        assert_eq!((media.codec, media.payload_type, media.telephone_event), (Codec::Pcmu, 0, Some(101)));
        assert_eq!(media.remote_rtp, sock("192.168.1.23:10124"));
        assert_eq!(media.remote_rtcp, sock("192.168.1.23:10125"));
        assert_eq!((media.direction, media.remote_hold), (Direction::SendRecv, false));
        assert_eq!(media.remote_ptime, Some(20));
        let text = answer.to_string();
        assert_eq!(
            text,
            "v=0\r\no=kefu 42 1 IN IP4 10.1.1.1\r\ns=kefu\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n\
             m=audio 20000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
             a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
        );
    }

    #[test]
    fn linphone_offer_picks_the_8khz_telephone_event_and_rejects_video() {
        let (answer, media) = answer_text(samples::LINPHONE_OFFER);
        assert_eq!((media.codec, media.payload_type), (Codec::Pcmu, 0));
        // 101 is telephone-event/48000 (for opus); the one for G.711 is 100.
        assert_eq!(media.telephone_event, Some(100));
        assert_eq!(answer.media[0].formats, ["0", "100"]);
        assert_eq!(answer.media[0].port, 20000);
        let video = &answer.media[1];
        assert_eq!((video.port, &video.media, &video.formats), (0, &MediaType::Video, &vec!["96".into(), "97".into()]));
        assert!(video.rtpmaps.is_empty() && video.direction.is_none());
    }

    #[test]
    fn carrier_pcma_only_gets_pcma() {
        let (answer, media) = answer_text(samples::CARRIER_PCMA_OFFER);
        assert_eq!((media.codec, media.payload_type, media.telephone_event), (Codec::Pcma, 8, Some(101)));
        assert_eq!(media.remote_rtp, sock("203.0.113.10:35000"));
        assert_eq!(answer.media[0].rtpmap(8).map(|m| m.encoding.as_str()), Some("PCMA"));
    }

    #[test]
    fn answer_follows_the_offer_order_not_ours() {
        let mut ours = local();
        ours.codecs = vec![Codec::Pcmu, Codec::Pcma];
        let (_, media) = answer_offer(&parse(samples::IPV6_OFFER), &ours).unwrap();
        assert_eq!(media.codec, Codec::Pcma);
        // ...but only among codecs we enabled.
        ours.codecs = vec![Codec::Pcmu];
        let (_, media) = answer_offer(&parse(samples::IPV6_OFFER), &ours).unwrap();
        assert_eq!((media.codec, media.payload_type), (Codec::Pcmu, 0));
    }

    #[test]
    fn ipv6_offer_addresses_and_rtcp_attribute() {
        let (_, media) = answer_text(samples::IPV6_OFFER);
        assert_eq!(media.remote_rtp, sock("[2001:db8::10]:49170"));
        assert_eq!(media.remote_rtcp, sock("[2001:db8::11]:49171"));
        // Our own IPv6 address goes into o= and c= as IP6.
        let ours = LocalMedia::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 30000, 1, 1);
        let (answer, _) = answer_offer(&parse(samples::IPV6_OFFER), &ours).unwrap();
        assert!(answer.to_string().contains("o=kefu 1 1 IN IP6 ::1\r\ns=kefu\r\nc=IN IP6 ::1\r\n"));
    }

    #[test]
    fn sendonly_hold_is_answered_recvonly() {
        let (answer, media) = answer_text(samples::HOLD_SENDONLY_OFFER);
        assert!(media.remote_hold);
        assert_eq!(media.direction, Direction::RecvOnly);
        assert_eq!(answer.media[0].direction, Some(Direction::RecvOnly));
        // The holder still sends (music on hold), so its address is kept.
        assert_eq!(media.remote_rtp, sock("192.168.1.23:10124"));
    }

    #[test]
    fn old_style_zero_address_hold_is_detected() {
        let (answer, media) = answer_text(samples::OLD_HOLD_OFFER);
        assert!(media.remote_hold);
        assert_eq!(media.remote_rtp, None);
        assert_eq!(media.remote_rtcp, None);
        assert_eq!(answer.media[0].direction, Some(Direction::RecvOnly));
        assert_eq!(media.telephone_event, Some(101));
    }

    #[test]
    fn direction_mirroring_table() {
        let cases = [
            ("sendrecv", Direction::SendRecv, Direction::SendRecv, false),
            ("sendonly", Direction::SendRecv, Direction::RecvOnly, true),
            ("recvonly", Direction::SendRecv, Direction::SendOnly, false),
            ("inactive", Direction::SendRecv, Direction::Inactive, true),
            // We hold the remote (local sendonly) while it offers sendrecv.
            ("sendrecv", Direction::SendOnly, Direction::SendOnly, false),
            ("sendonly", Direction::SendOnly, Direction::Inactive, true),
        ];
        for (offered, ours, expected, hold) in cases {
            let text = samples::CARRIER_PCMA_OFFER.replace("a=sendrecv", &format!("a={offered}"));
            let mut local = local();
            local.direction = ours;
            let (answer, media) = answer_offer(&parse(&text), &local).unwrap();
            assert_eq!((media.direction, media.remote_hold), (expected, hold), "{offered} / {ours:?}");
            assert_eq!(answer.media[0].direction, Some(expected));
        }
        // A session-level direction applies when the media section has none.
        let text = samples::IPV6_OFFER.replace("t=0 0\r\n", "t=0 0\r\na=inactive\r\n");
        let (_, media) = answer_offer(&parse(&text), &local()).unwrap();
        assert_eq!((media.direction, media.remote_hold), (Direction::Inactive, true));
    }

    #[test]
    fn no_telephone_event_when_either_side_lacks_it() {
        let mut ours = local();
        ours.telephone_event = None;
        let (answer, media) = answer_offer(&parse(samples::CARRIER_PCMA_OFFER), &ours).unwrap();
        assert_eq!(media.telephone_event, None);
        assert_eq!(answer.media[0].formats, ["8"]);
        let (_, media) = answer_text(samples::G729_ONLY_OFFER.replace("18 3", "18 3 0").as_str());
        assert_eq!((media.codec, media.telephone_event), (Codec::Pcmu, None));
    }

    #[test]
    fn dynamic_payload_type_for_g711_is_honoured() {
        let text = samples::CARRIER_PCMA_OFFER
            .replace("RTP/AVP 8 101", "RTP/AVP 97 101")
            .replace("rtpmap:8 PCMA", "rtpmap:97 pcma");
        let (answer, media) = answer_text(&text);
        assert_eq!((media.codec, media.payload_type), (Codec::Pcma, 97));
        assert_eq!(answer.media[0].formats, ["97", "101"]);
    }

    #[test]
    fn second_audio_stream_and_disabled_streams_get_port_zero() {
        let text = format!(
            "{}m=audio 0 RTP/AVP 0\r\nm=audio 36000 RTP/AVP 0\r\n",
            samples::CARRIER_PCMA_OFFER.replace("m=audio 35000", "m=audio 0")
        );
        let (answer, media) = answer_text(&text);
        // The first audio line is disabled (port 0), the second too; the third is taken.
        assert_eq!(media.media_index, 2);
        let ports: Vec<u16> = answer.media.iter().map(|m| m.port).collect();
        assert_eq!(ports, [0, 0, 20000]);
        let text = format!("{}m=audio 36000 RTP/AVP 0\r\n", samples::CARRIER_PCMA_OFFER);
        let (answer, media) = answer_text(&text);
        assert_eq!(media.media_index, 0);
        let ports: Vec<u16> = answer.media.iter().map(|m| m.port).collect();
        assert_eq!(ports, [20000, 0]);
    }

    #[test]
    fn no_common_codec_is_a_488() {
        let err = answer_offer(&parse(samples::G729_ONLY_OFFER), &local()).unwrap_err();
        assert_eq!(err, NegotiationError::NoCommonCodec { offered: vec!["G729/8000".into(), "GSM/8000".into()] });
        assert_eq!(err.sip_status(), 488);
        // A codec we support but disabled counts as not common.
        let mut ours = local();
        ours.codecs = vec![Codec::Pcmu];
        assert!(matches!(
            answer_offer(&parse(samples::CARRIER_PCMA_OFFER), &ours),
            Err(NegotiationError::NoCommonCodec { .. })
        ));
    }

    #[test]
    fn srtp_only_or_no_audio_is_refused() {
        assert_eq!(answer_offer(&parse(samples::WEBRTC_OFFER), &local()).unwrap_err(), NegotiationError::NoAudioStream);
        let video_only =
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\n";
        assert_eq!(answer_offer(&parse(video_only), &local()).unwrap_err(), NegotiationError::NoAudioStream);
    }

    #[test]
    fn our_offer_lists_our_codecs_and_telephone_event() {
        let offer = build_offer(&local());
        assert_eq!(
            offer.to_string(),
            "v=0\r\no=kefu 42 1 IN IP4 10.1.1.1\r\ns=kefu\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n\
             m=audio 20000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
        );
        let mut hold = local();
        hold.direction = Direction::SendOnly;
        hold.codecs = vec![Codec::Pcma, Codec::Pcma];
        hold.telephone_event = Some(96);
        let offer = build_offer(&hold);
        assert_eq!(offer.media[0].formats, ["8", "96"]);
        assert_eq!(offer.media[0].direction, Some(Direction::SendOnly));
    }

    #[test]
    fn our_offer_answered_by_kefu_itself() {
        // Offer from one kefu leg answered by another: both sides agree.
        let offer = build_offer(&local());
        let other = LocalMedia::new(IpAddr::V4(Ipv4Addr::new(10, 2, 2, 2)), 40000, 7, 1);
        let (answer, answered) = answer_offer(&offer, &other).unwrap();
        let read = read_answer(&offer, &answer).unwrap();
        assert_eq!((read.codec, read.payload_type, read.telephone_event), (Codec::Pcmu, 0, Some(101)));
        assert_eq!((answered.codec, answered.telephone_event), (read.codec, read.telephone_event));
        assert_eq!(read.remote_rtp, sock("10.2.2.2:40000"));
        assert_eq!(answered.remote_rtp, sock("10.1.1.1:20000"));
    }

    fn remote_answer(media_lines: &str) -> SessionDescription {
        parse(&format!(
            "v=0\r\no=agent 5 5 IN IP4 192.168.5.5\r\ns=-\r\nc=IN IP4 192.168.5.5\r\nt=0 0\r\n{media_lines}"
        ))
    }

    #[test]
    fn read_answer_takes_the_remote_codec_address_and_direction() {
        let offer = build_offer(&local());
        let answer = remote_answer(
            "m=audio 8000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
             a=rtcp:8005\r\na=ptime:30\r\n",
        );
        let media = read_answer(&offer, &answer).unwrap();
        assert_eq!((media.codec, media.payload_type, media.telephone_event), (Codec::Pcma, 8, Some(101)));
        assert_eq!(media.remote_rtp, sock("192.168.5.5:8000"));
        assert_eq!(media.remote_rtcp, sock("192.168.5.5:8005"));
        assert_eq!((media.direction, media.remote_hold, media.remote_ptime), (Direction::SendRecv, false, Some(30)));

        // Answer without rtpmaps (static types only) and without telephone-event; recvonly.
        let answer = remote_answer("m=audio 8000 RTP/AVP 0\r\na=recvonly\r\n");
        let media = read_answer(&offer, &answer).unwrap();
        assert_eq!((media.codec, media.telephone_event, media.direction), (Codec::Pcmu, None, Direction::SendOnly));
        assert!(!media.remote_hold);

        // The agent's phone answers sendonly / inactive: it does not want our audio.
        for dir in ["sendonly", "inactive"] {
            let answer = remote_answer(&format!("m=audio 8000 RTP/AVP 0\r\na={dir}\r\n"));
            assert!(read_answer(&offer, &answer).unwrap().remote_hold, "{dir}");
        }
    }

    #[test]
    fn read_answer_errors() {
        let offer = build_offer(&local());
        let rejected = remote_answer("m=audio 0 RTP/AVP 0\r\n");
        assert_eq!(read_answer(&offer, &rejected).unwrap_err(), NegotiationError::AudioRejected);
        let two = remote_answer("m=audio 8000 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\n");
        assert_eq!(
            read_answer(&offer, &two).unwrap_err(),
            NegotiationError::MediaCountMismatch { offered: 1, answered: 2 }
        );
        // A payload type we never offered (18) cannot be chosen.
        let g729 = remote_answer("m=audio 8000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n");
        assert!(matches!(read_answer(&offer, &g729), Err(NegotiationError::NoCommonCodec { .. })));
        // Telephone-event on a payload type we did not offer is ignored.
        let odd = remote_answer("m=audio 8000 RTP/AVP 0 102\r\na=rtpmap:102 telephone-event/8000\r\n");
        assert_eq!(read_answer(&offer, &odd).unwrap().telephone_event, None);
    }
}
