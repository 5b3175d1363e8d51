//! RFC 4733 telephone events: the 4-byte payload, a detector that reports each digit once, and a sender.
//!
//! One key press is one *event*: every packet of it carries the same RTP timestamp (the start)
//! and a growing duration; the last is repeated three times with the end bit set. The detector
//! therefore keys events by timestamp, which makes it indifferent to the redundant end packets,
//! to lost start packets and to a second press of the same key.

use super::SAMPLES_PER_FRAME;

/// A malformed telephone-event payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtmfError {
    /// Fewer than the 4 bytes of an event.
    #[error("telephone-event payload of {0} bytes, need 4")]
    TooShort(usize),
}

/// A DTMF key: events 0–9, `*` (10), `#` (11) and `A`–`D` (12–15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digit(u8);

const DIGIT_CHARS: [char; 16] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D'];

impl Digit {
    /// The digit for an RFC 4733 event code; `None` for the non-DTMF events (flash, tones…).
    pub fn from_event(event: u8) -> Option<Self> {
        (usize::from(event) < DIGIT_CHARS.len()).then_some(Self(event))
    }

    /// The digit for a keypad character (`a`–`d` accepted in lower case too).
    pub fn from_char(c: char) -> Option<Self> {
        let upper = c.to_ascii_uppercase();
        let index = DIGIT_CHARS.iter().position(|&d| d == upper)?;
        u8::try_from(index).ok().map(Self)
    }

    /// The RFC 4733 event code.
    pub fn event(self) -> u8 {
        self.0
    }

    /// The keypad character.
    pub fn as_char(self) -> char {
        DIGIT_CHARS.get(usize::from(self.0)).copied().unwrap_or('?')
    }
}

impl std::fmt::Display for Digit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// The payload of one telephone-event packet (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0–15 are DTMF).
    pub event: u8,
    /// Set on the final packets of the event.
    pub end: bool,
    /// Power level in -dBm0, 0–63 (higher is quieter); only the low 6 bits are sent.
    pub volume: u8,
    /// Duration so far in timestamp units (samples at 8 kHz).
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first event of a payload (further bytes, e.g. a second event, are ignored).
    pub fn parse(payload: &[u8]) -> Result<Self, DtmfError> {
        match payload {
            [event, flags, d0, d1, ..] => Ok(Self {
                event: *event,
                end: flags & 0x80 != 0,
                volume: flags & 0x3F,
                duration: u16::from_be_bytes([*d0, *d1]),
            }),
            _ => Err(DtmfError::TooShort(payload.len())),
        }
    }

    /// The 4-byte payload (the reserved bit is sent as 0).
    pub fn to_bytes(self) -> [u8; 4] {
        let [d0, d1] = self.duration.to_be_bytes();
        [self.event, u8::from(self.end) << 7 | (self.volume & 0x3F), d0, d1]
    }
}

/// What the detector remembers about the event in progress.
#[derive(Debug, Clone, Copy)]
struct Current {
    timestamp: u32,
    event: u8,
    ended: bool,
}

/// Turns a stream of telephone-event packets into digits, each reported exactly once.
///
/// Feed it every packet of the negotiated telephone-event payload type, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct DigitDetector {
    current: Option<Current>,
}

impl DigitDetector {
    /// A detector that has seen no event.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one packet; returns the digit if this packet starts a new DTMF event.
    ///
    /// A new event is recognised by a new RTP timestamp, so a press is reported even when its
    /// first packets were lost. A new timestamp without the marker bit for the same key while
    /// that key has not ended is the continuation of a long event (RFC 4733 §2.5.1.3), not a
    /// new press. Packets older than the current event (late redundant ends) are ignored.
    pub fn push(&mut self, timestamp: u32, marker: bool, payload: &[u8]) -> Result<Option<Digit>, DtmfError> {
        let ev = TelephoneEvent::parse(payload)?;
        if let Some(cur) = self.current.as_mut() {
            let age = timestamp.wrapping_sub(cur.timestamp);
            if age == 0 || age >= 0x8000_0000 {
                // The current event again, or a straggler from an earlier one.
                if age == 0 && ev.event == cur.event {
                    cur.ended |= ev.end;
                }
                return Ok(None);
            }
            if ev.event == cur.event && !cur.ended && !marker {
                *cur = Current { timestamp, event: ev.event, ended: ev.end };
                return Ok(None);
            }
        }
        self.current = Some(Current { timestamp, event: ev.event, ended: ev.end });
        Ok(Digit::from_event(ev.event))
    }

    /// Forgets the current event; call it when the sender's SSRC (and so its timestamps) changes.
    pub fn reset(&mut self) {
        self.current = None;
    }
}

/// One telephone-event packet to send: all packets of an event share its start timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// Set on the first packet of the event.
    pub marker: bool,
    /// The RFC 4733 payload.
    pub payload: [u8; 4],
}

/// The packets that send `digit` for `duration` samples at `volume` (-dBm0, 0–63).
///
/// Send them 20 ms apart with consecutive sequence numbers and the same RTP timestamp: updates
/// every 160 samples, then the final duration three times with the end bit. The duration is
/// rounded up to at least one frame.
pub fn digit_packets(digit: Digit, duration: u16, volume: u8) -> Vec<EventPacket> {
    let step = SAMPLES_PER_FRAME as u16;
    let duration = duration.max(step);
    let event = |end, duration| TelephoneEvent { event: digit.event(), end, volume, duration }.to_bytes();
    let updates = (1..).map(|k: u16| k.saturating_mul(step)).take_while(|&d| d < duration).map(|d| event(false, d));
    let ends = std::iter::repeat_n(event(true, duration), 3);
    updates.chain(ends).enumerate().map(|(i, payload)| EventPacket { marker: i == 0, payload }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_matches_the_rfc_layout() {
        let ev = TelephoneEvent { event: 11, end: true, volume: 10, duration: 1280 };
        assert_eq!(ev.to_bytes(), [11, 0x8A, 0x05, 0x00]);
        assert_eq!(TelephoneEvent::parse(&ev.to_bytes()), Ok(ev));
        // The reserved bit is ignored on input.
        assert_eq!(TelephoneEvent::parse(&[5, 0x40 | 7, 0, 160]).map(|e| (e.end, e.volume)), Ok((false, 7)));
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), Err(DtmfError::TooShort(3)));
    }

    #[test]
    fn events_map_to_keypad_characters() {
        let all: String = (0..16).filter_map(Digit::from_event).map(Digit::as_char).collect();
        assert_eq!(all, "0123456789*#ABCD");
        assert_eq!(Digit::from_event(16), None);
        for c in all.chars() {
            assert_eq!(Digit::from_char(c).map(Digit::as_char), Some(c));
        }
        assert_eq!(Digit::from_char('d').map(Digit::event), Some(15));
        assert_eq!(Digit::from_char('x'), None);
    }

    #[test]
    fn sender_emits_updates_then_three_ends() {
        let five = Digit::from_char('5').unwrap();
        let packets = digit_packets(five, 800, 10);
        let decoded: Vec<_> = packets.iter().map(|p| TelephoneEvent::parse(&p.payload).unwrap()).collect();
        let durations: Vec<_> = decoded.iter().map(|e| (e.duration, e.end)).collect();
        assert_eq!(
            durations,
            [(160, false), (320, false), (480, false), (640, false), (800, true), (800, true), (800, true)]
        );
        assert!(decoded.iter().all(|e| e.event == 5 && e.volume == 10));
        let markers: Vec<_> = packets.iter().map(|p| p.marker).collect();
        assert_eq!(markers, [true, false, false, false, false, false, false]);
        // A very short press still gets one frame and its three end packets.
        assert_eq!(digit_packets(five, 0, 10).len(), 3);
    }

    /// Sends `digits` as consecutive events 200 ms apart, returning (timestamp, marker, payload).
    fn send(digits: &str) -> Vec<(u32, bool, [u8; 4])> {
        let mut out = Vec::new();
        let mut ts = 0xFFFF_F000u32; // crosses the timestamp wrap on the way
        for c in digits.chars() {
            for p in digit_packets(Digit::from_char(c).unwrap(), 640, 10) {
                out.push((ts, p.marker, p.payload));
            }
            ts = ts.wrapping_add(1600);
        }
        out
    }

    fn detect(packets: &[(u32, bool, [u8; 4])]) -> String {
        let mut detector = DigitDetector::new();
        packets.iter().filter_map(|(ts, m, p)| detector.push(*ts, *m, p).unwrap()).map(Digit::as_char).collect()
    }

    #[test]
    fn send_then_detect_round_trips() {
        assert_eq!(detect(&send("0123456789*#ABCD")), "0123456789*#ABCD");
    }

    #[test]
    fn repeated_key_is_two_digits() {
        assert_eq!(detect(&send("55")), "55");
        assert_eq!(detect(&send("1001")), "1001");
    }

    #[test]
    fn lost_start_packets_still_detect_the_digit() {
        // Drop the marker packet and the first update of every event.
        let packets: Vec<_> =
            send("77#").into_iter().filter(|(_, _, p)| TelephoneEvent::parse(p).unwrap().duration > 320).collect();
        assert!(packets.iter().all(|(_, m, _)| !m));
        assert_eq!(detect(&packets), "77#");
        // Only the end packets survive.
        let ends: Vec<_> = send("99").into_iter().filter(|(_, _, p)| p[1] & 0x80 != 0).collect();
        assert_eq!(detect(&ends), "99");
    }

    #[test]
    fn late_packets_of_an_earlier_event_are_ignored() {
        let mut packets = send("12");
        // Move the last redundant end of '1' after the start of '2'.
        let straggler = packets.remove(5);
        packets.insert(7, straggler);
        assert_eq!(packets[7].0, packets[0].0);
        assert_eq!(detect(&packets), "12");
    }

    #[test]
    fn long_event_segments_are_one_press() {
        let mut d = DigitDetector::new();
        let seg = |end, duration| TelephoneEvent { event: 3, end, volume: 10, duration }.to_bytes();
        assert_eq!(d.push(1000, true, &seg(false, 65535)).unwrap().map(Digit::as_char), Some('3'));
        // The sender restarts the timestamp without the marker once the duration would overflow.
        assert_eq!(d.push(66535, false, &seg(false, 160)).unwrap(), None);
        assert_eq!(d.push(66535, false, &seg(true, 320)).unwrap(), None);
        // A new press of the same key after the end is reported.
        assert_eq!(d.push(70000, true, &seg(false, 160)).unwrap().map(Digit::as_char), Some('3'));
    }

    #[test]
    fn non_dtmf_events_and_bad_payloads_report_nothing() {
        let mut d = DigitDetector::new();
        let flash = TelephoneEvent { event: 16, end: false, volume: 10, duration: 160 }.to_bytes();
        assert_eq!(d.push(0, true, &flash), Ok(None));
        assert_eq!(d.push(160, true, &[1]), Err(DtmfError::TooShort(1)));
    }
}
