//! G.711 µ-law and A-law companding (ITU-T G.711): 16-bit PCM to 8-bit codes and back.
//!
//! Encoding is the segment search of the ITU reference (as in the classic Sun `g711.c`);
//! decoding is a lookup in tables built at compile time from the same formulas.

use super::{PT_PCMA, PT_PCMU};

/// One of the two G.711 companding laws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Law {
    /// µ-law (PCMU), used in North America and Japan.
    Mu,
    /// A-law (PCMA), used in Europe and most of the rest of the world.
    A,
}

impl Law {
    /// The law carried by a static RTP payload type (0 → µ-law, 8 → A-law).
    pub fn from_payload_type(pt: u8) -> Option<Self> {
        match pt {
            PT_PCMU => Some(Self::Mu),
            PT_PCMA => Some(Self::A),
            _ => None,
        }
    }

    /// The static RTP payload type of this law.
    pub fn payload_type(self) -> u8 {
        match self {
            Self::Mu => PT_PCMU,
            Self::A => PT_PCMA,
        }
    }

    /// Encodes one sample.
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Self::Mu => ulaw_encode(sample),
            Self::A => alaw_encode(sample),
        }
    }

    /// Decodes one code.
    pub fn decode(self, code: u8) -> i16 {
        match self {
            Self::Mu => ulaw_decode(code),
            Self::A => alaw_decode(code),
        }
    }

    /// Encodes `pcm` and appends the codes to `out`.
    pub fn encode_into(self, pcm: &[i16], out: &mut Vec<u8>) {
        out.extend(pcm.iter().map(|&s| self.encode(s)));
    }

    /// Decodes `codes` and appends the samples to `out`.
    pub fn decode_into(self, codes: &[u8], out: &mut Vec<i16>) {
        out.extend(codes.iter().map(|&c| self.decode(c)));
    }
}

const SIGN_BIT: u8 = 0x80;
const QUANT_MASK: u8 = 0x0F;
const SEG_MASK: u8 = 0x70;
/// µ-law bias in the 14-bit domain the encoder works in (0x84 >> 2).
const ULAW_BIAS_14: i32 = 0x21;
/// Largest 14-bit magnitude µ-law represents before clipping.
const ULAW_CLIP_14: i32 = 8159;
/// Upper ends of the eight µ-law segments, 14-bit domain (after adding the bias).
const ULAW_SEG_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
/// Upper ends of the eight A-law segments, 13-bit domain.
const ALAW_SEG_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

/// Index of the first segment whose end is at or above `value`; 8 when above them all.
fn segment(value: i32, ends: &[i32; 8]) -> i32 {
    let mut seg = 0;
    for &end in ends {
        if value <= end {
            return seg;
        }
        seg += 1;
    }
    seg
}

/// Encodes one 16-bit sample as µ-law. Magnitudes beyond 32124 clip to the largest code.
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut pcm = i32::from(sample) >> 2;
    let mask: u8 = if pcm < 0 {
        pcm = -pcm;
        0x7F
    } else {
        0xFF
    };
    let pcm = pcm.min(ULAW_CLIP_14) + ULAW_BIAS_14;
    let seg = segment(pcm, &ULAW_SEG_END);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    // `seg` is at most 7 here, so the cast is exact.
    let code = ((seg << 4) | ((pcm >> (seg + 1)) & 0x0F)) as u8;
    code ^ mask
}

/// Encodes one 16-bit sample as A-law. Magnitudes beyond 32256 clip to the largest code.
pub fn alaw_encode(sample: i16) -> u8 {
    let pcm = i32::from(sample) >> 3;
    let (pcm, mask) = if pcm >= 0 { (pcm, 0xD5u8) } else { (-pcm - 1, 0x55u8) };
    let seg = segment(pcm, &ALAW_SEG_END);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let shift = if seg < 2 { 1 } else { seg };
    // `seg` is at most 7 here, so the cast is exact.
    let code = ((seg << 4) | ((pcm >> shift) & 0x0F)) as u8;
    code ^ mask
}

/// Decodes one µ-law code to 16-bit PCM.
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_TABLE[usize::from(code)]
}

/// Decodes one A-law code to 16-bit PCM.
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_TABLE[usize::from(code)]
}

const fn ulaw_formula(code: u8) -> i16 {
    let u = !code;
    let seg = (u & SEG_MASK) >> 4;
    let t = ((((u & QUANT_MASK) as i32) << 3) + 0x84) << seg;
    // |t - 0x84| <= 32124, so the value fits in i16.
    (if u & SIGN_BIT != 0 { 0x84 - t } else { t - 0x84 }) as i16
}

const fn alaw_formula(code: u8) -> i16 {
    let a = code ^ 0x55;
    let seg = (a & SEG_MASK) >> 4;
    let mut t = ((a & QUANT_MASK) as i32) << 4;
    t = match seg {
        0 => t + 8,
        1 => t + 0x108,
        _ => (t + 0x108) << (seg - 1),
    };
    // t <= 32256, so the value fits in i16.
    (if a & SIGN_BIT != 0 { t } else { -t }) as i16
}

const fn build_table(law: Law) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        // `i < 256`, so the cast is exact.
        let code = i as u8;
        table[i] = match law {
            Law::Mu => ulaw_formula(code),
            Law::A => alaw_formula(code),
        };
        i += 1;
    }
    table
}

static ULAW_TABLE: [i16; 256] = build_table(Law::Mu);
static ALAW_TABLE: [i16; 256] = build_table(Law::A);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_pairs() {
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(-32124), 0x00);
        assert_eq!(ulaw_encode(32124), 0x80);

        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(alaw_encode(8), 0xD5);
        assert_eq!(alaw_encode(-8), 0x55);
    }

    #[test]
    fn extremes_clip_to_the_largest_codes() {
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
    }

    #[test]
    fn every_code_round_trips() {
        for code in 0..=255u8 {
            let back = ulaw_encode(ulaw_decode(code));
            // µ-law has two zeros: negative zero 0x7F decodes to 0, which encodes as 0xFF.
            let expected = if code == 0x7F { 0xFF } else { code };
            assert_eq!(back, expected, "µ-law code {code:#04x}");
            assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law code {code:#04x}");
        }
    }

    #[test]
    fn decoding_is_strictly_monotonic_in_code_order() {
        for law in [Law::Mu, Law::A] {
            let mut values: Vec<i16> = (0..=255u8).map(|c| law.decode(c)).collect();
            values.sort_unstable();
            values.dedup();
            // 256 distinct levels for A-law; 255 for µ-law (its two zeros coincide).
            let expected = if law == Law::Mu { 255 } else { 256 };
            assert_eq!(values.len(), expected, "{law:?}");
        }
    }

    #[test]
    fn companding_is_monotonic_over_all_inputs() {
        for law in [Law::Mu, Law::A] {
            let mut previous = i16::MIN;
            for x in i16::MIN..=i16::MAX {
                let y = law.decode(law.encode(x));
                assert!(y >= previous, "{law:?}: {x} → {y} after {previous}");
                previous = y;
            }
        }
    }

    /// Quantisation step of the segment a decoded value lies in.
    fn step(law: Law, code: u8) -> i32 {
        match law {
            // µ-law codes are sent inverted; steps are 8, 16, … 1024 in 16-bit units.
            Law::Mu => 8 << ((!code & SEG_MASK) >> 4),
            // A-law codes have their even bits inverted; segments 0 and 1 share a step of 16.
            Law::A => 16 << (i32::from(((code ^ 0x55) & SEG_MASK) >> 4) - 1).max(0),
        }
    }

    #[test]
    fn quantisation_error_stays_within_half_a_step_per_segment() {
        for law in [Law::Mu, Law::A] {
            let limit = i32::from(law.decode(law.encode(i16::MAX)));
            for x in -limit..=limit {
                let Ok(sample) = i16::try_from(x) else { continue };
                let code = law.encode(sample);
                let error = (i32::from(law.decode(code)) - x).abs();
                // A-law reconstructs at mid-step; µ-law's encoder first drops 2 bits, which costs up to 3 more.
                let slack = if law == Law::Mu { 3 } else { 0 };
                assert!(error <= step(law, code) / 2 + slack, "{law:?}: {x} → {code:#04x}, error {error}");
            }
        }
    }

    #[test]
    fn slice_helpers_match_single_samples_and_payload_types() {
        let pcm = [0i16, 1000, -1000, i16::MAX, i16::MIN];
        for law in [Law::Mu, Law::A] {
            let mut codes = Vec::new();
            law.encode_into(&pcm, &mut codes);
            assert_eq!(codes, pcm.iter().map(|&s| law.encode(s)).collect::<Vec<_>>());
            let mut back = Vec::new();
            law.decode_into(&codes, &mut back);
            assert_eq!(back, codes.iter().map(|&c| law.decode(c)).collect::<Vec<_>>());
            assert_eq!(Law::from_payload_type(law.payload_type()), Some(law));
        }
        assert_eq!(Law::from_payload_type(18), None);
    }
}
