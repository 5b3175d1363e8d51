//! Tests for the WAV recorder and prompt reader.

use super::*;
use proptest::prelude::*;

/// One second of a distinct ramp per channel, so misplaced or swapped samples show.
fn second(channel: i16, n: i16) -> Vec<i16> {
    (0..8000i32).map(|i| i16::try_from((i % 1000) * 10).unwrap() * channel + n).collect()
}

/// Decodes the interleaved stereo data chunk the header declares.
fn stereo(bytes: &[u8]) -> (WavHeader, Vec<i16>, Vec<i16>) {
    let h = WavHeader::parse(bytes).unwrap();
    let data = h.data(bytes).unwrap();
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for frame in data.chunks_exact(4) {
        left.push(i16::from_le_bytes([frame[0], frame[1]]));
        right.push(i16::from_le_bytes([frame[2], frame[3]]));
    }
    (h, left, right)
}

#[test]
fn crash_after_a_flush_leaves_a_playable_file_up_to_that_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("call.wav");
    let mut rec = WavRecorder::create(&path, Duration::from_secs(1)).unwrap();
    let (mut caller, mut agent) = (Vec::new(), Vec::new());
    for s in 0..3 {
        caller.extend(second(1, s));
        agent.extend(second(-1, s));
    }
    // Three seconds in 20 ms frames, then half a second that no flush has covered yet.
    for (c, a) in caller.chunks(160).zip(agent.chunks(160)) {
        rec.write(c, a).unwrap();
    }
    for _ in 0..25 {
        rec.write(&[7; 160], &[7; 160]).unwrap();
    }
    assert_eq!(rec.frames(), 28_000);
    // A crash runs no destructor: forget the recorder (leaking its descriptor) instead of dropping it.
    std::mem::forget(rec);

    let bytes = std::fs::read(&path).unwrap();
    let (h, left, right) = stereo(&bytes);
    assert_eq!((h.format, h.channels, h.sample_rate, h.bits_per_sample), (FORMAT_PCM, 2, 8000, 16));
    assert_eq!(h.data_offset, 44);
    assert_eq!(h.data_len, 3 * 8000 * 4);
    assert_eq!(h.riff_size, h.data_len + 36);
    assert_eq!(bytes.len(), 44 + 3 * 8000 * 4, "the unflushed half second never reached the file");
    assert_eq!(left, caller);
    assert_eq!(right, agent);
}

#[test]
fn finish_covers_everything_and_reports_duration_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("call.wav");
    let mut rec = WavRecorder::create(&path, Duration::from_secs(1)).unwrap();
    let caller = second(1, 3);
    let agent = second(-1, 4);
    for (c, a) in caller.chunks(160).zip(agent.chunks(160)) {
        rec.write(c, a).unwrap();
    }
    // Unequal lengths: the missing agent side is silence.
    rec.write(&[5; 80], &[]).unwrap();
    let info = rec.finish().unwrap();
    assert_eq!(info.frames, 8080);
    assert_eq!(info.duration, Duration::from_millis(1010));
    assert_eq!(info.size, 44 + 8080 * 4);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len() as u64, info.size);
    let (h, left, right) = stereo(&bytes);
    assert_eq!(h.riff_size as usize, bytes.len() - 8);
    assert_eq!(&left[..8000], &caller[..]);
    assert_eq!(&right[..8000], &agent[..]);
    assert_eq!(&left[8000..], &[5; 80]);
    assert_eq!(&right[8000..], &[0; 80]);
}

#[test]
fn an_empty_recording_is_a_valid_file_and_drop_keeps_pending_audio() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.wav");
    let rec = WavRecorder::create(&path, Duration::from_secs(1)).unwrap();
    let (h, left, _) = stereo(&std::fs::read(&path).unwrap());
    assert_eq!((h.data_len, left.len()), (0, 0));
    let mut rec = rec;
    rec.write(&[1; 160], &[2; 160]).unwrap();
    drop(rec);
    let (h, left, right) = stereo(&std::fs::read(&path).unwrap());
    assert_eq!(h.data_len, 640);
    assert_eq!((left, right), (vec![1; 160], vec![2; 160]));
}

#[test]
fn a_mono_recording_keeps_the_first_channel_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("voicemail.wav");
    let mut rec = WavRecorder::create_mono(&path, Duration::from_millis(100)).unwrap();
    let caller = second(1, 2);
    for c in caller.chunks(160) {
        rec.write(c, &[9; 160]).unwrap();
    }
    rec.write(&[4; 80], &[]).unwrap();
    assert_eq!(rec.frames(), 8080);
    let info = rec.finish().unwrap();
    assert_eq!((info.frames, info.duration, info.size), (8080, Duration::from_millis(1010), 44 + 8080 * 2));
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len() as u64, info.size);
    let h = WavHeader::parse(&bytes).unwrap();
    assert_eq!((h.format, h.channels, h.sample_rate, h.bits_per_sample), (FORMAT_PCM, 1, 8000, 16));
    assert_eq!((h.data_len, h.riff_size as usize), (8080 * 2, bytes.len() - 8));
    // Byte rate and block align describe mono audio, and the file reads back as a prompt.
    assert_eq!(u32::from_le_bytes(bytes[28..32].try_into().unwrap()), 16_000);
    assert_eq!(u16::from_le_bytes(bytes[32..34].try_into().unwrap()), 2);
    let samples = decode_prompt(&bytes).unwrap();
    assert_eq!(&samples[..8000], &caller[..]);
    assert_eq!(&samples[8000..], &[4; 80]);
}

#[test]
fn an_existing_file_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taken.wav");
    std::fs::write(&path, b"keep me").unwrap();
    assert!(matches!(WavRecorder::create(&path, Duration::from_secs(1)), Err(WavError::Io(_))));
    assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
}

/// A WAV file with the given fmt fields, extra chunks before the data, and data bytes.
fn wav(format: u16, channels: u16, rate: u32, bits: u16, extra: &[(&[u8; 4], &[u8])], data: &[u8]) -> Vec<u8> {
    let mut body = b"WAVE".to_vec();
    let block = channels * bits / 8;
    let mut fmt = Vec::new();
    for field in [&format.to_le_bytes()[..], &channels.to_le_bytes(), &rate.to_le_bytes()] {
        fmt.extend_from_slice(field);
    }
    fmt.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    fmt.extend_from_slice(&block.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    let chunks = [(b"fmt ", &fmt[..])].into_iter().chain(extra.iter().copied()).chain([(b"data", data)]);
    for (id, content) in chunks {
        body.extend_from_slice(id);
        body.extend_from_slice(&u32::try_from(content.len()).unwrap().to_le_bytes());
        body.extend_from_slice(content);
        if content.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
    out.extend(body);
    out
}

#[test]
fn reads_pcm_mulaw_and_alaw_prompts() {
    let pcm: Vec<u8> = [0i16, 1000, -1000, i16::MAX].iter().flat_map(|s| s.to_le_bytes()).collect();
    assert_eq!(decode_prompt(&wav(1, 1, 8000, 16, &[], &pcm)).unwrap(), [0, 1000, -1000, i16::MAX]);
    assert_eq!(decode_prompt(&wav(7, 1, 8000, 8, &[], &[0xFF, 0x00, 0x80])).unwrap(), [0, -32124, 32124]);
    assert_eq!(decode_prompt(&wav(6, 1, 8000, 8, &[], &[0xD5, 0x55])).unwrap(), [8, -8]);
}

#[test]
fn skips_unknown_chunks_including_odd_sized_ones() {
    let extra: [(&[u8; 4], &[u8]); 2] = [(b"LIST", b"INFOISFT\x03\0\0\0sox"), (b"fact", b"\x02\0\0\0")];
    let bytes = wav(7, 1, 8000, 8, &extra, &[0xFF, 0x80]);
    assert_eq!(decode_prompt(&bytes).unwrap(), [0, 32124]);
}

#[test]
fn accepts_waveformatextensible_pcm() {
    let mut bytes = wav(1, 1, 8000, 16, &[], &[0x10, 0x00]);
    // Rewrite the 16-byte fmt chunk as a 40-byte WAVEFORMATEXTENSIBLE with the PCM sub-format.
    let mut ext = bytes[20..36].to_vec();
    ext[0..2].copy_from_slice(&0xFFFEu16.to_le_bytes());
    ext.extend_from_slice(&[
        22, 0, 16, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71,
    ]);
    bytes.splice(16..36, 40u32.to_le_bytes().into_iter().chain(ext));
    assert_eq!(decode_prompt(&bytes).unwrap(), [16]);
}

#[test]
fn unusable_prompts_are_clear_errors() {
    let unsupported = |b: &[u8]| matches!(decode_prompt(b), Err(WavError::Unsupported { .. }));
    assert!(unsupported(&wav(1, 2, 8000, 16, &[], &[0; 8])), "stereo");
    assert!(unsupported(&wav(1, 1, 44100, 16, &[], &[0; 8])), "44.1 kHz");
    assert!(unsupported(&wav(1, 1, 8000, 8, &[], &[0; 8])), "8-bit PCM");
    assert!(unsupported(&wav(3, 1, 8000, 32, &[], &[0; 8])), "float");
    let message = decode_prompt(&wav(1, 2, 44100, 16, &[], &[])).unwrap_err().to_string();
    assert!(message.contains("2 channels, 44100 Hz") && message.contains("mono 8000 Hz"), "{message}");

    let good = wav(1, 1, 8000, 16, &[], &[1, 0, 2, 0]);
    assert!(matches!(decode_prompt(&good[..good.len() - 1]), Err(WavError::Truncated("data chunk"))));
    assert!(matches!(decode_prompt(&good[..30]), Err(WavError::Truncated("fmt chunk"))));
    assert!(matches!(decode_prompt(&good[..36]), Err(WavError::MissingChunk("data"))));
    assert!(matches!(decode_prompt(&wav(1, 1, 8000, 16, &[], &[1, 0, 2])), Err(WavError::Truncated("last sample"))));
    assert!(matches!(decode_prompt(b"RIFF\0\0\0\0WAVEdata\0\0\0\0"), Err(WavError::MissingChunk("fmt"))));
    assert!(matches!(decode_prompt(b"ID3\x03 an mp3"), Err(WavError::NotWave)));
    let mut short_fmt = good.clone();
    short_fmt[16] = 12;
    assert!(matches!(decode_prompt(&short_fmt), Err(WavError::BadFmt(_))));
}

#[test]
fn read_prompt_reads_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hello.wav");
    std::fs::write(&path, wav(6, 1, 8000, 8, &[], &[0xD5])).unwrap();
    assert_eq!(read_prompt(&path).unwrap(), [8]);
    assert!(matches!(read_prompt(&dir.path().join("missing.wav")), Err(WavError::Io(_))));
}

proptest! {
    #[test]
    fn reader_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_prompt(&bytes);
    }

    #[test]
    fn reader_never_panics_on_mutated_prompts(
        edits in proptest::collection::vec((0..64usize, any::<u8>()), 1..6),
        cut in 0..64usize,
    ) {
        let mut bytes = wav(1, 1, 8000, 16, &[(b"LIST", b"abc")], &[1, 0, 2, 0, 3, 0]);
        for (at, value) in edits {
            if let Some(b) = bytes.get_mut(at) {
                *b = value;
            }
        }
        bytes.truncate(cut.max(1) + 10);
        if let Ok(samples) = decode_prompt(&bytes) {
            prop_assert!(samples.len() <= bytes.len());
        }
    }
}
