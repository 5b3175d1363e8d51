//! RTP packets (RFC 3550): a borrowing parser, a serializer, sequence arithmetic and RTCP detection.

/// Length of the fixed RTP header.
pub const HEADER_LEN: usize = 12;

/// Why a datagram is not a well-formed RTP packet, or a packet cannot be serialized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    /// Shorter than the fixed 12-byte header.
    #[error("rtp packet too short: {len} bytes, the fixed header needs 12")]
    TooShort {
        /// Length of the datagram.
        len: usize,
    },
    /// The version field is not 2.
    #[error("rtp version {0}, expected 2")]
    BadVersion(u8),
    /// The CSRC count announces more identifiers than the datagram holds.
    #[error("rtp csrc list of {count} entries overruns a {len}-byte packet")]
    CsrcOverrun {
        /// Announced CSRC count.
        count: u8,
        /// Length of the datagram.
        len: usize,
    },
    /// The header extension (its 4-byte header or its announced body) runs past the datagram.
    #[error("rtp header extension of {words} words overruns the packet")]
    ExtensionOverrun {
        /// Announced extension length in 32-bit words (0 when even its header is missing).
        words: u16,
    },
    /// The padding bit is set but the count is zero or longer than what follows the header.
    #[error("rtp padding of {padding} bytes does not fit the {available} bytes after the header")]
    BadPadding {
        /// Padding count from the last byte.
        padding: u8,
        /// Bytes available for payload and padding.
        available: usize,
    },
    /// Serialization only: more than 15 CSRC identifiers.
    #[error("rtp packets carry at most 15 csrc identifiers, got {0}")]
    TooManyCsrc(usize),
    /// Serialization only: the payload type does not fit in 7 bits.
    #[error("rtp payload type {0} is above 127")]
    BadPayloadType(u8),
    /// Serialization only: extension data is not a whole number of 32-bit words (or is too long).
    #[error("rtp header extension of {0} bytes is not a whole number of 32-bit words below 256 KiB")]
    BadExtensionLength(usize),
}

/// An RTP header extension (RFC 3550 §5.3.1): a profile-defined id and its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    /// The 16-bit profile-defined value (0xBEDE for RFC 8285 one-byte headers).
    pub profile: u16,
    /// The extension body, a multiple of 4 bytes.
    pub data: &'a [u8],
}

/// An RTP packet whose payload borrows from the datagram it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Marker bit (start of a talkspurt; start of an RFC 4733 event).
    pub marker: bool,
    /// Payload type, 0–127.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp (8000 per second for G.711 and telephone events).
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Contributing sources; empty (and unallocated) for everything kefu sends.
    pub csrc: Vec<u32>,
    /// Header extension, if the X bit is set.
    pub extension: Option<RtpExtension<'a>>,
    /// The payload, without padding.
    pub payload: &'a [u8],
    /// Padding length including the count byte itself; 0 when the P bit is clear.
    pub padding: u8,
}

fn be16(buf: &[u8], at: usize) -> Option<u16> {
    let bytes = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([bytes.first().copied()?, bytes.get(1).copied()?]))
}

fn be32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

impl<'a> RtpPacket<'a> {
    /// A packet with no CSRCs, extension or padding — what the engine sends.
    pub fn new(payload_type: u8, sequence: u16, timestamp: u32, ssrc: u32, payload: &'a [u8]) -> Self {
        Self {
            marker: false,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrc: Vec::new(),
            extension: None,
            payload,
            padding: 0,
        }
    }

    /// Parses one datagram. Never panics; every malformed case is a typed error.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        let len = buf.len();
        let (Some(&b0), Some(&b1), Some(sequence), Some(timestamp), Some(ssrc)) =
            (buf.first(), buf.get(1), be16(buf, 2), be32(buf, 4), be32(buf, 8))
        else {
            return Err(RtpError::TooShort { len });
        };
        let version = b0 >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let has_padding = b0 & 0x20 != 0;
        let has_extension = b0 & 0x10 != 0;
        let csrc_count = b0 & 0x0F;

        let mut at = HEADER_LEN;
        let mut csrc = Vec::new();
        for _ in 0..csrc_count {
            let id = be32(buf, at).ok_or(RtpError::CsrcOverrun { count: csrc_count, len })?;
            csrc.push(id);
            at += 4;
        }

        let extension = if has_extension {
            let (Some(profile), Some(words)) = (be16(buf, at), be16(buf, at + 2)) else {
                return Err(RtpError::ExtensionOverrun { words: 0 });
            };
            let start = at + 4;
            let end = start + usize::from(words) * 4;
            let data = buf.get(start..end).ok_or(RtpError::ExtensionOverrun { words })?;
            at = end;
            Some(RtpExtension { profile, data })
        } else {
            None
        };

        // `at <= len` holds here: every step above was checked against the buffer.
        let rest = buf.get(at..).unwrap_or_default();
        let padding = if has_padding {
            let count = rest.last().copied().unwrap_or(0);
            if count == 0 || usize::from(count) > rest.len() {
                return Err(RtpError::BadPadding { padding: count, available: rest.len() });
            }
            count
        } else {
            0
        };
        let payload = rest.get(..rest.len() - usize::from(padding)).unwrap_or_default();

        Ok(Self {
            marker: b1 & 0x80 != 0,
            payload_type: b1 & 0x7F,
            sequence,
            timestamp,
            ssrc,
            csrc,
            extension,
            payload,
            padding,
        })
    }

    /// Length of the serialized packet.
    pub fn serialized_len(&self) -> usize {
        HEADER_LEN
            + 4 * self.csrc.len()
            + self.extension.map_or(0, |e| 4 + e.data.len())
            + self.payload.len()
            + usize::from(self.padding)
    }

    /// Appends the serialized packet to `out` (a reused buffer avoids an allocation per packet).
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RtpError> {
        let csrc_count =
            u8::try_from(self.csrc.len()).ok().filter(|&n| n <= 15).ok_or(RtpError::TooManyCsrc(self.csrc.len()))?;
        if self.payload_type > 127 {
            return Err(RtpError::BadPayloadType(self.payload_type));
        }
        let extension_words = match self.extension {
            Some(ext) => Some(
                u16::try_from(ext.data.len() / 4)
                    .ok()
                    .filter(|_| ext.data.len() % 4 == 0)
                    .ok_or(RtpError::BadExtensionLength(ext.data.len()))?,
            ),
            None => None,
        };

        out.reserve(self.serialized_len());
        let mut b0 = 0x80 | csrc_count;
        if self.padding > 0 {
            b0 |= 0x20;
        }
        if self.extension.is_some() {
            b0 |= 0x10;
        }
        out.push(b0);
        out.push(u8::from(self.marker) << 7 | self.payload_type);
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        for id in &self.csrc {
            out.extend_from_slice(&id.to_be_bytes());
        }
        if let (Some(ext), Some(words)) = (self.extension, extension_words) {
            out.extend_from_slice(&ext.profile.to_be_bytes());
            out.extend_from_slice(&words.to_be_bytes());
            out.extend_from_slice(ext.data);
        }
        out.extend_from_slice(self.payload);
        if self.padding > 0 {
            out.resize(out.len() + usize::from(self.padding) - 1, 0);
            out.push(self.padding);
        }
        Ok(())
    }

    /// Serializes into a new buffer.
    pub fn to_vec(&self) -> Result<Vec<u8>, RtpError> {
        let mut out = Vec::with_capacity(self.serialized_len());
        self.write_to(&mut out)?;
        Ok(out)
    }
}

/// Whether a datagram on an RTP port is RTCP rather than RTP (RFC 5761 §4).
///
/// RTCP packet types (SR 200, RR 201, SDES 202, BYE 203, APP 204, and the feedback and XR types
/// after them) fill the second byte's range 192–223, which no RTP packet with a payload type
/// outside 64–95 can produce, marker bit or not.
pub fn is_rtcp(datagram: &[u8]) -> bool {
    match (datagram.first(), datagram.get(1)) {
        (Some(b0), Some(b1)) => b0 >> 6 == 2 && (192..=223).contains(b1) && datagram.len() >= 4,
        _ => false,
    }
}

/// Whether sequence number `a` comes after `b`, allowing for wrap-around (RFC 1982 arithmetic).
pub fn seq_after(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

/// Signed distance from `b` to `a` in sequence numbers, allowing for wrap-around.
pub fn seq_delta(a: u16, b: u16) -> i16 {
    // Reinterpreting the wrapped difference as signed is the point: 0xFFFF means -1.
    a.wrapping_sub(b) as i16
}

/// Turns 16-bit sequence numbers into a 64-bit count that does not wrap (RFC 3550 Appendix A.1).
///
/// Extended numbers start in cycle 1 — the first packet `s` maps to `65536 + s` — so a late
/// packet from before the first one received still gets a smaller number instead of underflowing.
#[derive(Debug, Clone, Default)]
pub struct SequenceExtender {
    highest: Option<u64>,
}

impl SequenceExtender {
    /// An extender that has seen no packet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The extended number of `seq`, judged against the highest number seen so far.
    pub fn extend(&mut self, seq: u16) -> u64 {
        let extended = match self.highest {
            None => (1 << 16) + u64::from(seq),
            Some(highest) => {
                // Truncation takes the low 16 bits on purpose.
                let delta = seq_delta(seq, highest as u16);
                highest.saturating_add_signed(i64::from(delta))
            }
        };
        if self.highest.is_none_or(|h| extended > h) {
            self.highest = Some(extended);
        }
        extended
    }

    /// The highest extended number seen, if any packet was seen.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A G.711 packet as captured from a softphone: PT 0, marker, seq 0x1234, ts 0xDEADBEEF.
    fn sample() -> Vec<u8> {
        let mut p = vec![0x80, 0x80, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04];
        p.extend_from_slice(&[0xFF; 160]);
        p
    }

    #[test]
    fn parses_the_fixed_header() {
        let buf = sample();
        let p = RtpPacket::parse(&buf).unwrap();
        assert!(p.marker);
        assert_eq!(p.payload_type, 0);
        assert_eq!(p.sequence, 0x1234);
        assert_eq!(p.timestamp, 0xDEAD_BEEF);
        assert_eq!(p.ssrc, 0x0102_0304);
        assert_eq!(p.payload.len(), 160);
        assert!(p.csrc.is_empty() && p.extension.is_none() && p.padding == 0);
        assert_eq!(p.to_vec().unwrap(), buf);
    }

    #[test]
    fn skips_csrcs_extension_and_padding() {
        let mut buf = vec![0x80 | 0x20 | 0x10 | 2, 8, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        buf.extend_from_slice(&[0, 0, 0, 10, 0, 0, 0, 11]); // two CSRCs
        buf.extend_from_slice(&[0xBE, 0xDE, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8]); // 2-word extension
        buf.extend_from_slice(b"abc"); // payload
        buf.extend_from_slice(&[0, 0, 3]); // 3 bytes of padding
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!(p.payload_type, 8);
        assert_eq!(p.csrc, vec![10, 11]);
        assert_eq!(p.extension, Some(RtpExtension { profile: 0xBEDE, data: &[1, 2, 3, 4, 5, 6, 7, 8] }));
        assert_eq!(p.payload, b"abc");
        assert_eq!(p.padding, 3);
        assert_eq!(p.to_vec().unwrap(), buf);
    }

    #[test]
    fn malformed_packets_are_typed_errors() {
        assert_eq!(RtpPacket::parse(&[0x80; 11]), Err(RtpError::TooShort { len: 11 }));
        let mut v1 = sample();
        v1[0] = 0x40;
        assert_eq!(RtpPacket::parse(&v1), Err(RtpError::BadVersion(1)));

        let mut csrc = sample()[..20].to_vec();
        csrc[0] = 0x83; // three CSRCs, room for two
        assert_eq!(RtpPacket::parse(&csrc), Err(RtpError::CsrcOverrun { count: 3, len: 20 }));

        let mut ext_header = sample()[..14].to_vec();
        ext_header[0] = 0x90;
        assert_eq!(RtpPacket::parse(&ext_header), Err(RtpError::ExtensionOverrun { words: 0 }));
        let mut ext_body = sample()[..24].to_vec();
        ext_body[0] = 0x90;
        ext_body[12..16].copy_from_slice(&[0xBE, 0xDE, 0, 3]); // 12 bytes announced, 8 present
        assert_eq!(RtpPacket::parse(&ext_body), Err(RtpError::ExtensionOverrun { words: 3 }));

        let mut pad = sample()[..16].to_vec();
        pad[0] = 0xA0;
        pad[15] = 5;
        assert_eq!(RtpPacket::parse(&pad), Err(RtpError::BadPadding { padding: 5, available: 4 }));
        pad[15] = 0;
        assert_eq!(RtpPacket::parse(&pad), Err(RtpError::BadPadding { padding: 0, available: 4 }));
        let mut header_only = sample()[..12].to_vec();
        header_only[0] = 0xA0;
        assert_eq!(RtpPacket::parse(&header_only), Err(RtpError::BadPadding { padding: 0, available: 0 }));
    }

    #[test]
    fn serializer_rejects_what_cannot_be_encoded() {
        let mut p = RtpPacket::new(0, 1, 2, 3, &[]);
        p.csrc = vec![0; 16];
        assert_eq!(p.to_vec(), Err(RtpError::TooManyCsrc(16)));
        let mut p = RtpPacket::new(128, 1, 2, 3, &[]);
        assert_eq!(p.to_vec(), Err(RtpError::BadPayloadType(128)));
        p.payload_type = 0;
        p.extension = Some(RtpExtension { profile: 1, data: &[1, 2, 3] });
        assert_eq!(p.to_vec(), Err(RtpError::BadExtensionLength(3)));
    }

    #[test]
    fn rtcp_is_told_apart_from_rtp() {
        for pt in 200..=204u8 {
            assert!(is_rtcp(&[0x80, pt, 0, 1]), "rtcp type {pt}");
        }
        // A receiver report with one report block, as sent by softphones.
        assert!(is_rtcp(&[0x81, 201, 0, 7, 0, 0, 0, 1]));
        // PCMU, PCMA and telephone-event packets with and without the marker bit.
        for b1 in [0, 0x80, 8, 0x88, 101, 0x80 | 101] {
            assert!(!is_rtcp(&[0x80, b1, 0, 1]), "rtp byte {b1:#04x}");
        }
        assert!(!is_rtcp(&[0x80, 200]));
        assert!(!is_rtcp(&[0x40, 200, 0, 1]));
    }

    #[test]
    fn sequence_numbers_compare_across_the_wrap() {
        assert!(seq_after(1, 0));
        assert!(seq_after(0, 0xFFFF));
        assert!(seq_after(5, 0xFFF0));
        assert!(!seq_after(0xFFF0, 5));
        assert!(!seq_after(7, 7));
        assert_eq!(seq_delta(0, 0xFFFF), 1);
        assert_eq!(seq_delta(0xFFFF, 0), -1);
    }

    #[test]
    fn extended_sequence_counts_cycles_and_tolerates_reordering() {
        let mut ext = SequenceExtender::new();
        assert_eq!(ext.extend(0xFFFE), 0x1_FFFE);
        assert_eq!(ext.extend(0xFFFF), 0x1_FFFF);
        assert_eq!(ext.extend(1), 0x2_0001); // 0 lost, wrapped
        assert_eq!(ext.extend(0), 0x2_0000); // late
        assert_eq!(ext.extend(0xFFFD), 0x1_FFFD); // very late, from before the wrap
        assert_eq!(ext.highest(), Some(0x2_0001));
        let mut from_zero = SequenceExtender::new();
        assert_eq!(from_zero.extend(0), 0x1_0000);
        assert_eq!(from_zero.extend(0xFFFF), 0xFFFF); // reordered before the first packet
    }

    /// Owned field values from which a borrowing [`RtpPacket`] is built.
    #[derive(Debug, Clone)]
    struct Fields {
        head: (bool, u8, u16, u32, u32),
        csrc: Vec<u32>,
        extension: Option<(u16, Vec<u8>)>,
        payload: Vec<u8>,
        padding: u8,
    }

    impl Fields {
        fn packet(&self) -> RtpPacket<'_> {
            let (marker, payload_type, sequence, timestamp, ssrc) = self.head;
            RtpPacket {
                marker,
                payload_type,
                sequence,
                timestamp,
                ssrc,
                csrc: self.csrc.clone(),
                extension: self.extension.as_ref().map(|(profile, data)| RtpExtension { profile: *profile, data }),
                payload: &self.payload,
                padding: self.padding,
            }
        }
    }

    fn arb_fields() -> impl Strategy<Value = Fields> {
        let words = proptest::collection::vec(any::<[u8; 4]>(), 0..4).prop_map(|w| w.concat());
        (
            (any::<bool>(), 0..128u8, any::<u16>(), any::<u32>(), any::<u32>()),
            proptest::collection::vec(any::<u32>(), 0..=15),
            proptest::option::of((any::<u16>(), words)),
            proptest::collection::vec(any::<u8>(), 0..200),
            any::<u8>(),
        )
            .prop_map(|(head, csrc, extension, payload, padding)| Fields {
                head,
                csrc,
                extension,
                payload,
                padding,
            })
    }

    proptest! {
        #[test]
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = RtpPacket::parse(&buf);
            let _ = is_rtcp(&buf);
        }

        #[test]
        fn parse_never_panics_on_version_2(mut buf in proptest::collection::vec(any::<u8>(), 0..120)) {
            if let Some(b0) = buf.first_mut() {
                *b0 = 0x80 | (*b0 & 0x3F);
            }
            if let Ok(p) = RtpPacket::parse(&buf) {
                prop_assert_eq!(p.serialized_len(), buf.len());
            }
        }

        #[test]
        fn serialize_then_parse_round_trips(fields in arb_fields()) {
            let packet = fields.packet();
            let bytes = packet.to_vec().unwrap();
            prop_assert_eq!(bytes.len(), packet.serialized_len());
            prop_assert_eq!(RtpPacket::parse(&bytes).unwrap(), packet);
        }
    }
}
