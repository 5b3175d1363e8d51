//! Tones for the test agent: a sine generator to send and a Goertzel filter to listen with.

use crate::media::SAMPLE_RATE;

/// Peak amplitude of the tones the agent sends (about −12 dBFS: loud, far from clipping).
pub(crate) const TONE_AMPLITUDE: f32 = 8000.0;

/// A sine oscillator that keeps its phase from one frame to the next.
#[derive(Debug, Clone)]
pub(crate) struct SineGenerator {
    step: f32,
    phase: f32,
}

impl SineGenerator {
    pub(crate) fn new(freq_hz: f32) -> Self {
        SineGenerator { step: std::f32::consts::TAU * freq_hz / SAMPLE_RATE as f32, phase: 0.0 }
    }

    /// Fills `out` with the next samples.
    pub(crate) fn fill(&mut self, out: &mut [i16]) {
        for sample in out {
            // |TONE_AMPLITUDE · sin| ≤ 8000 always fits an i16.
            *sample = (TONE_AMPLITUDE * self.phase.sin()) as i16;
            self.phase = (self.phase + self.step) % std::f32::consts::TAU;
        }
    }
}

/// Goertzel filter: |X(f)|², the squared magnitude of the DTFT of `samples` at `freq_hz`
/// (8 kHz sampling). `f` need not fall on a DFT bin.
pub fn goertzel_power(samples: &[i16], freq_hz: f32) -> f64 {
    let omega = std::f64::consts::TAU * f64::from(freq_hz) / f64::from(SAMPLE_RATE);
    let coeff = 2.0 * omega.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// The share (0–1) of the energy of `samples` that is a sine at `freq_hz`: about 1 for a
/// pure tone at that frequency, about 0.5 for each of two equally loud tones, near 0 for
/// other tones or silence.
pub fn tone_fraction(samples: &[i16], freq_hz: f32) -> f64 {
    let energy: f64 = samples.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    if samples.is_empty() || energy <= 0.0 {
        return 0.0;
    }
    // A sine of amplitude A over N samples: |X|² ≈ (A·N/2)², energy ≈ A²·N/2.
    let n = samples.len() as f64;
    (2.0 * goertzel_power(samples, freq_hz) / (n * energy)).min(1.0)
}

/// Root-mean-square level of `samples`.
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let energy: f64 = samples.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    (energy / samples.len() as f64).sqrt()
}

/// The frequency (50–3950 Hz, 10 Hz steps) holding the largest share of the energy, if the
/// audio is louder than `min_rms`.
pub fn dominant_frequency(samples: &[i16], min_rms: f64) -> Option<f32> {
    if rms(samples) < min_rms {
        return None;
    }
    (5u16..=395)
        .map(|step| f32::from(step) * 10.0)
        .map(|f| (f, goertzel_power(samples, f)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(f, _)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, n: usize) -> Vec<i16> {
        let mut out = vec![0; n];
        SineGenerator::new(freq).fill(&mut out);
        out
    }

    #[test]
    fn goertzel_finds_the_tone_and_not_its_neighbours() {
        let samples = tone(440.0, 1280);
        assert!(tone_fraction(&samples, 440.0) > 0.95);
        assert!(tone_fraction(&samples, 1000.0) < 0.01);
        assert!(tone_fraction(&samples, 500.0) < 0.05);
        assert_eq!(dominant_frequency(&samples, 100.0), Some(440.0));
        assert_eq!(dominant_frequency(&[0; 800], 100.0), None);
        assert_eq!(tone_fraction(&[0; 800], 440.0), 0.0);
    }

    #[test]
    fn two_tones_share_the_energy() {
        let a = tone(440.0, 1280);
        let b = tone(1000.0, 1280);
        let mix: Vec<i16> = a.iter().zip(&b).map(|(x, y)| x / 2 + y / 2).collect();
        for f in [440.0, 1000.0] {
            let share = tone_fraction(&mix, f);
            assert!((0.4..0.6).contains(&share), "{f}: {share}");
        }
    }
}
