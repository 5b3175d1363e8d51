//! Generated audio: the default music on hold until an administrator uploads a recording,
//! and plain tones for tests and diagnostics. 8 kHz mono PCM.

use super::SAMPLE_RATE;

/// A sine tone of `freq_hz` for `ms` milliseconds at `amplitude` (0–32767), with 5 ms fades
/// so it starts and stops without a click.
pub fn tone(freq_hz: f32, ms: u32, amplitude: i16) -> Vec<i16> {
    let n = (SAMPLE_RATE * ms / 1000) as usize;
    let fade = (SAMPLE_RATE as usize * 5 / 1000).max(1);
    (0..n)
        .map(|i| {
            let t = i as f32 / SAMPLE_RATE as f32;
            let edge = i.min(n - 1 - i).min(fade) as f32 / fade as f32;
            let v = (2.0 * std::f32::consts::PI * freq_hz * t).sin() * f32::from(amplitude) * edge;
            v as i16
        })
        .collect()
}

/// The built-in music on hold: a slow, quiet arpeggio (C major – A minor – F major – G major,
/// two seconds per chord, soft attack and decay per note), eight seconds long, made to loop.
pub fn music_on_hold() -> Vec<i16> {
    // Chord tones in Hz (C4 E4 G4 C5 / A3 C4 E4 A4 / F3 A3 C4 F4 / G3 B3 D4 G4).
    const CHORDS: [[f32; 4]; 4] = [
        [261.63, 329.63, 392.00, 523.25],
        [220.00, 261.63, 329.63, 440.00],
        [174.61, 220.00, 261.63, 349.23],
        [196.00, 246.94, 293.66, 392.00],
    ];
    let note_len = SAMPLE_RATE as usize / 2; // 500 ms per note, 4 notes per chord
    let mut out = Vec::with_capacity(note_len * 16);
    for chord in CHORDS {
        for (k, freq) in chord.iter().enumerate() {
            for i in 0..note_len {
                let t = i as f32 / SAMPLE_RATE as f32;
                let attack = (i as f32 / 200.0).min(1.0);
                let decay = (-3.0 * t).exp();
                // The root keeps sounding softly under the arpeggio.
                let root = (2.0 * std::f32::consts::PI * chord[0] / 2.0 * (t + k as f32 * 0.5)).sin() * 0.25;
                let note = (2.0 * std::f32::consts::PI * freq * t).sin() * attack * decay;
                out.push(((note + root) * 5000.0) as i16);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tones_have_the_asked_length_and_stay_in_range() {
        let t = tone(1000.0, 250, 8000);
        assert_eq!(t.len(), 2000);
        assert!(t.iter().all(|s| s.unsigned_abs() <= 8000));
        assert_eq!(t[0], 0, "fades in");
        assert!(t.iter().map(|s| s.unsigned_abs()).max().unwrap() > 7000);
    }

    #[test]
    fn music_on_hold_is_eight_quiet_audible_seconds() {
        let m = music_on_hold();
        assert_eq!(m.len(), 8 * SAMPLE_RATE as usize);
        let peak = m.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!(peak > 2000 && peak < 12000, "peak {peak}");
    }
}
