//! WAV files: the crash-safe call recorder (stereo: caller left, agent right; or mono, for
//! voicemail) and the prompt reader.
//!
//! The recorder keeps the header's RIFF and data sizes current every `flush_every` of audio,
//! writing the samples before the sizes that cover them, so a process killed mid-call leaves a
//! playable file holding everything up to the last flush. The reader takes the prompt formats
//! the engine can play without resampling: mono 8 kHz, 16-bit PCM, µ-law or A-law.
//!
//! Written by hand rather than with `hound`, which cannot read G.711 WAV files (ADR 0006).

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use super::SAMPLE_RATE;
use super::g711::Law;

/// Format tag of integer PCM.
pub const FORMAT_PCM: u16 = 1;
/// Format tag of G.711 A-law.
pub const FORMAT_ALAW: u16 = 6;
/// Format tag of G.711 µ-law.
pub const FORMAT_MULAW: u16 = 7;
/// Format tag announcing a WAVEFORMATEXTENSIBLE whose sub-format holds the real tag.
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// Length of the canonical header the recorder writes.
const HEADER_LEN: u64 = 44;
/// Offset of the RIFF size field.
const RIFF_SIZE_AT: u64 = 4;
/// Offset of the data size field in the recorder's header.
const DATA_SIZE_AT: u64 = 40;
/// Bytes per stereo 16-bit sample frame.
const BLOCK_ALIGN: u16 = 4;
/// Largest data chunk whose RIFF size (data + 36) still fits in 32 bits, in whole sample frames
/// (whole stereo frames are whole mono frames too).
const MAX_DATA: u64 = (u32::MAX as u64 - (HEADER_LEN - 8)) / BLOCK_ALIGN as u64 * BLOCK_ALIGN as u64;

/// A WAV file that cannot be written, read or used.
#[derive(Debug, thiserror::Error)]
pub enum WavError {
    /// The file system failed.
    #[error("wav i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The bytes do not start with a RIFF/WAVE header.
    #[error("not a wav file (no RIFF/WAVE header)")]
    NotWave,
    /// A chunk the file needs never appears.
    #[error("wav file has no {0} chunk")]
    MissingChunk(&'static str),
    /// The file ends inside something its header announces.
    #[error("wav file is truncated in its {0}")]
    Truncated(&'static str),
    /// The fmt chunk is malformed.
    #[error("malformed wav fmt chunk: {0}")]
    BadFmt(&'static str),
    /// A well-formed file in a format prompts cannot use.
    #[error(
        "unsupported prompt format (tag {format}, {channels} channels, {sample_rate} Hz, {bits_per_sample}-bit): \
         prompts must be mono 8000 Hz 16-bit PCM, µ-law or A-law"
    )]
    Unsupported {
        /// Format tag.
        format: u16,
        /// Channel count.
        channels: u16,
        /// Sample rate in Hz.
        sample_rate: u32,
        /// Bits per sample.
        bits_per_sample: u16,
    },
    /// The recording would pass the 4 GiB a RIFF size can describe (about 37 hours of stereo).
    #[error("recording too long for a wav file")]
    TooLong,
}

/// What a WAV header says: the format and where the data chunk lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavHeader {
    /// Format tag (1 PCM, 6 A-law, 7 µ-law), with WAVEFORMATEXTENSIBLE resolved to its sub-format.
    pub format: u16,
    /// Channel count.
    pub channels: u16,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Bits per sample.
    pub bits_per_sample: u16,
    /// The RIFF chunk size from bytes 4–8 (file length minus 8 when complete).
    pub riff_size: u32,
    /// Offset of the first data byte.
    pub data_offset: usize,
    /// Length of the data chunk as declared (not checked against the bytes present).
    pub data_len: u32,
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

impl WavHeader {
    /// Parses the RIFF/WAVE header up to the data chunk, skipping unknown chunks (LIST, fact…).
    pub fn parse(bytes: &[u8]) -> Result<Self, WavError> {
        if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
            return Err(WavError::NotWave);
        }
        let riff_size = le32(bytes, 4).ok_or(WavError::NotWave)?;
        let mut fmt: Option<(u16, u16, u32, u16)> = None;
        let mut at = 12usize;
        loop {
            let Some(id) = at.checked_add(4).and_then(|end| bytes.get(at..end)) else {
                return Err(WavError::MissingChunk(if fmt.is_none() { "fmt" } else { "data" }));
            };
            let size = le32(bytes, at + 4).ok_or(WavError::Truncated("chunk header"))?;
            let body = at + 8;
            match id {
                b"fmt " => {
                    let end = body.checked_add(size as usize).ok_or(WavError::Truncated("fmt chunk"))?;
                    let chunk = bytes.get(body..end).ok_or(WavError::Truncated("fmt chunk"))?;
                    fmt = Some(parse_fmt(chunk)?);
                }
                b"data" => {
                    let (format, channels, sample_rate, bits_per_sample) = fmt.ok_or(WavError::MissingChunk("fmt"))?;
                    return Ok(Self {
                        format,
                        channels,
                        sample_rate,
                        bits_per_sample,
                        riff_size,
                        data_offset: body,
                        data_len: size,
                    });
                }
                _ => {}
            }
            // Chunks are padded to an even length.
            at = body.checked_add(size as usize + (size as usize & 1)).ok_or(WavError::Truncated("chunk"))?;
        }
    }

    /// The data chunk's bytes, or an error if the file ends before the declared length.
    pub fn data<'a>(&self, bytes: &'a [u8]) -> Result<&'a [u8], WavError> {
        let end = self.data_offset.checked_add(self.data_len as usize).ok_or(WavError::Truncated("data chunk"))?;
        bytes.get(self.data_offset..end).ok_or(WavError::Truncated("data chunk"))
    }
}

/// Reads (format, channels, sample rate, bits per sample) from a fmt chunk body.
fn parse_fmt(chunk: &[u8]) -> Result<(u16, u16, u32, u16), WavError> {
    let (Some(tag), Some(channels), Some(rate), Some(bits)) =
        (le16(chunk, 0), le16(chunk, 2), le32(chunk, 4), le16(chunk, 14))
    else {
        return Err(WavError::BadFmt("shorter than 16 bytes"));
    };
    let format = if tag == FORMAT_EXTENSIBLE {
        // WAVEFORMATEXTENSIBLE: the GUID at offset 24 starts with the real format tag.
        le16(chunk, 24).ok_or(WavError::BadFmt("extensible format shorter than 40 bytes"))?
    } else {
        tag
    };
    Ok((format, channels, rate, bits))
}

/// Decodes a prompt file's bytes to 8 kHz mono samples.
pub fn decode_prompt(bytes: &[u8]) -> Result<Vec<i16>, WavError> {
    let h = WavHeader::parse(bytes)?;
    let law = match (h.format, h.bits_per_sample) {
        (FORMAT_PCM, 16) => None,
        (FORMAT_MULAW, 8) => Some(Law::Mu),
        (FORMAT_ALAW, 8) => Some(Law::A),
        _ => return Err(unsupported(&h)),
    };
    if h.channels != 1 || h.sample_rate != SAMPLE_RATE {
        return Err(unsupported(&h));
    }
    let data = h.data(bytes)?;
    let mut samples = Vec::with_capacity(data.len());
    match law {
        Some(law) => law.decode_into(data, &mut samples),
        None => {
            if data.len() % 2 != 0 {
                return Err(WavError::Truncated("last sample"));
            }
            samples.extend(data.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
        }
    }
    Ok(samples)
}

fn unsupported(h: &WavHeader) -> WavError {
    WavError::Unsupported {
        format: h.format,
        channels: h.channels,
        sample_rate: h.sample_rate,
        bits_per_sample: h.bits_per_sample,
    }
}

/// Reads and decodes a prompt file (blocking).
pub fn read_prompt(path: &Path) -> Result<Vec<i16>, WavError> {
    decode_prompt(&std::fs::read(path)?)
}

/// What a finished recording holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingInfo {
    /// Length of the audio.
    pub duration: Duration,
    /// Size of the file in bytes.
    pub size: u64,
    /// Sample frames (one caller and one agent sample each; one sample each in a mono file).
    pub frames: u64,
}

/// An 8 kHz 16-bit PCM WAV recording in progress: stereo (caller left, agent right) for calls,
/// or mono (one party, e.g. a voicemail).
///
/// Blocking I/O; dropping it flushes what it can, but only [`WavRecorder::finish`] fsyncs and
/// reports errors.
#[derive(Debug)]
pub struct WavRecorder {
    file: File,
    /// 1 or 2.
    channels: u16,
    pending: Vec<u8>,
    /// Data bytes already on disk and covered by the header.
    flushed: u64,
    flush_bytes: usize,
}

impl WavRecorder {
    /// Creates a new stereo file (never overwriting one) and writes an empty but valid header.
    ///
    /// The header sizes are brought up to date whenever `flush_every` of audio has piled up.
    pub fn create(path: &Path, flush_every: Duration) -> Result<Self, WavError> {
        Self::create_with(path, flush_every, 2)
    }

    /// Like [`WavRecorder::create`], for a mono file: [`WavRecorder::write`] keeps only its
    /// first argument.
    pub fn create_mono(path: &Path, flush_every: Duration) -> Result<Self, WavError> {
        Self::create_with(path, flush_every, 1)
    }

    fn create_with(path: &Path, flush_every: Duration, channels: u16) -> Result<Self, WavError> {
        let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
        file.write_all(&header(0, channels))?;
        let frames = flush_every.as_micros().div_ceil(125).max(1); // 125 µs per frame at 8 kHz
        let flush_bytes =
            usize::try_from(frames).unwrap_or(usize::MAX / 8).saturating_mul(usize::from(block_align(channels)));
        Ok(Self { file, channels, pending: Vec::with_capacity(flush_bytes.min(1 << 20)), flushed: 0, flush_bytes })
    }

    /// Appends audio: `caller[i]` and `agent[i]` make one stereo frame; the shorter side is
    /// padded with silence. A mono recorder writes `caller` alone and ignores `agent`.
    pub fn write(&mut self, caller: &[i16], agent: &[i16]) -> Result<(), WavError> {
        let mono = self.channels == 1;
        let frames = if mono { caller.len() } else { caller.len().max(agent.len()) };
        let added = frames as u64 * u64::from(block_align(self.channels));
        if self.flushed + self.pending.len() as u64 + added > MAX_DATA {
            return Err(WavError::TooLong);
        }
        for i in 0..frames {
            let left = caller.get(i).copied().unwrap_or(0);
            self.pending.extend_from_slice(&left.to_le_bytes());
            if !mono {
                let right = agent.get(i).copied().unwrap_or(0);
                self.pending.extend_from_slice(&right.to_le_bytes());
            }
        }
        if self.pending.len() >= self.flush_bytes {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes buffered audio, then the header sizes that cover it.
    pub fn flush(&mut self) -> Result<(), WavError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        // Write at the exact end of the covered data, so a failed earlier attempt is overwritten.
        self.file.seek(SeekFrom::Start(HEADER_LEN + self.flushed))?;
        self.file.write_all(&self.pending)?;
        self.flushed += self.pending.len() as u64;
        self.pending.clear();
        // MAX_DATA keeps both sizes within 32 bits.
        let data = u32::try_from(self.flushed).map_err(|_| WavError::TooLong)?;
        self.file.seek(SeekFrom::Start(RIFF_SIZE_AT))?;
        self.file.write_all(&(data + 36).to_le_bytes())?;
        self.file.seek(SeekFrom::Start(DATA_SIZE_AT))?;
        self.file.write_all(&data.to_le_bytes())?;
        Ok(())
    }

    /// Sample frames written so far, flushed or not.
    pub fn frames(&self) -> u64 {
        (self.flushed + self.pending.len() as u64) / u64::from(block_align(self.channels))
    }

    /// Flushes, fsyncs and closes the file.
    pub fn finish(mut self) -> Result<RecordingInfo, WavError> {
        self.flush()?;
        self.file.sync_all()?;
        let frames = self.frames();
        Ok(RecordingInfo { duration: Duration::from_micros(frames * 125), size: HEADER_LEN + self.flushed, frames })
    }
}

impl Drop for WavRecorder {
    fn drop(&mut self) {
        // Best effort for a recorder abandoned without `finish` (a task that errored out):
        // keep the audio. After `finish` there is nothing pending and this does nothing.
        let _ = self.flush();
    }
}

/// Bytes per 16-bit sample frame of `channels` channels.
fn block_align(channels: u16) -> u16 {
    if channels == 1 { BLOCK_ALIGN / 2 } else { BLOCK_ALIGN }
}

/// The canonical 44-byte header for `data_len` bytes of 8 kHz 16-bit PCM in `channels` channels.
fn header(data_len: u32, channels: u16) -> [u8; 44] {
    let align = block_align(channels);
    let mut h = [0u8; 44];
    let fields: [&[u8]; 13] = [
        b"RIFF",
        &(data_len + 36).to_le_bytes(),
        b"WAVE",
        b"fmt ",
        &16u32.to_le_bytes(),
        &FORMAT_PCM.to_le_bytes(),
        &channels.to_le_bytes(),
        &SAMPLE_RATE.to_le_bytes(),
        &(SAMPLE_RATE * u32::from(align)).to_le_bytes(),
        &align.to_le_bytes(),
        &16u16.to_le_bytes(),
        b"data",
        &data_len.to_le_bytes(),
    ];
    let mut at = 0;
    for field in fields {
        if let Some(dst) = h.get_mut(at..at + field.len()) {
            dst.copy_from_slice(field);
        }
        at += field.len();
    }
    h
}

#[cfg(test)]
mod tests;
