//! The IVR's voice prompts by language and name: the defaults built into the binary
//! (`prompts/` at the repository root, see its README), overridden by WAV files an
//! administrator puts in `<data_dir>/prompts/<language>/<name>.wav`. Decoded once, to 8 kHz
//! mono samples, and shared.

use kefu_core::ivr::Language;
use kefu_sip::media::wav::decode_prompt;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tracing::warn;

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_prompts.rs"));
}

/// Decoded prompts.
#[derive(Clone, Debug, Default)]
pub struct Prompts {
    map: HashMap<(Language, String), Arc<[i16]>>,
}

impl Prompts {
    /// The prompts built into the binary.
    pub fn builtin() -> Self {
        let mut map = HashMap::new();
        for (lang, name, bytes) in builtin::BUILTIN {
            let Some(lang) = Language::parse(lang) else { continue };
            match decode_prompt(bytes) {
                Ok(samples) => {
                    map.insert((lang, (*name).to_owned()), samples.into());
                }
                Err(e) => warn!(%name, error = %e, "a built-in prompt cannot be decoded"),
            }
        }
        Prompts { map }
    }

    /// The built-in prompts, with every `<dir>/<language>/<name>.wav` taking the place of the
    /// prompt of that name. A file that is not a usable WAV is skipped with a warning (the
    /// built-in prompt stays); a missing directory is no error.
    pub fn with_overrides(dir: &Path) -> Self {
        let mut prompts = Self::builtin();
        for lang in [Language::ZhCn, Language::En] {
            let Ok(entries) = std::fs::read_dir(dir.join(lang.as_str())) else { continue };
            for path in entries.filter_map(Result::ok).map(|e| e.path()) {
                if path.extension().and_then(|e| e.to_str()) != Some("wav") {
                    continue;
                }
                let Some(name) = path.file_stem().and_then(|s| s.to_str()) else { continue };
                match kefu_sip::media::wav::read_prompt(&path) {
                    Ok(samples) => {
                        prompts.map.insert((lang, name.to_owned()), samples.into());
                    }
                    Err(e) => warn!(path = %path.display(), error = %e, "a prompt override cannot be used"),
                }
            }
        }
        prompts
    }

    /// One prompt.
    pub fn get(&self, lang: Language, name: &str) -> Option<Arc<[i16]>> {
        self.map.get(&(lang, name.to_owned())).cloned()
    }

    /// How many prompts there are.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The prompts `names` played back to back, and the names that do not exist (left out).
    pub fn concat(&self, lang: Language, names: &[String]) -> (Arc<[i16]>, Vec<String>) {
        let mut samples = Vec::new();
        let mut missing = Vec::new();
        for name in names {
            match self.map.get(&(lang, name.clone())) {
                Some(s) => samples.extend_from_slice(s),
                None => missing.push(name.clone()),
            }
        }
        (samples.into(), missing)
    }
}

impl Prompts {
    /// Every prompt: language, name and length in samples, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = (Language, &str, usize)> + '_ {
        self.map.iter().map(|((lang, name), s)| (*lang, name.as_str(), s.len()))
    }
}

/// The prompts in use, replaceable while calls run: an administrator's upload lands in the
/// override directory and the library reloads; calls pick the new recording from their next
/// prompt on.
#[derive(Debug)]
pub struct PromptLibrary {
    dir: PathBuf,
    current: RwLock<Arc<Prompts>>,
}

impl PromptLibrary {
    /// The built-in prompts with the overrides in `dir` (`<dir>/<language>/<name>.wav`).
    pub fn load(dir: PathBuf) -> Self {
        let current = RwLock::new(Arc::new(Prompts::with_overrides(&dir)));
        PromptLibrary { dir, current }
    }

    /// The prompts now.
    pub fn current(&self) -> Arc<Prompts> {
        match self.current.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The override directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the override of `name` in `lang` lives.
    pub fn override_path(&self, lang: Language, name: &str) -> PathBuf {
        self.dir.join(lang.as_str()).join(format!("{name}.wav"))
    }

    /// Reads the overrides again (blocking: call from a blocking task).
    pub fn reload(&self) {
        let fresh = Arc::new(Prompts::with_overrides(&self.dir));
        match self.current.write() {
            Ok(mut p) => *p = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_prompts_decode_in_both_languages() {
        let p = Prompts::builtin();
        assert!(p.len() > 100, "{} prompts", p.len());
        for lang in [Language::ZhCn, Language::En] {
            let welcome = p.get(lang, "welcome").expect("welcome");
            assert!(welcome.len() > 8_000 / 2, "at least half a second");
        }
        assert!(p.get(Language::En, "n19").is_some());
        assert!(p.get(Language::ZhCn, "n19").is_none(), "Chinese says 十九 with two prompts");
    }

    #[test]
    fn concat_joins_and_reports_missing_names() {
        let p = Prompts::builtin();
        let names = ["n1", "hundred", "nope", "n5"].map(str::to_owned);
        let (samples, missing) = p.concat(Language::En, &names);
        let want: usize = ["n1", "hundred", "n5"].iter().map(|n| p.get(Language::En, n).unwrap().len()).sum();
        assert_eq!(samples.len(), want);
        assert_eq!(missing, vec!["nope".to_owned()]);
    }

    #[test]
    fn files_in_the_data_directory_replace_builtin_prompts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("en")).unwrap();
        let tone = kefu_sip::media::tones::tone(1000.0, 250, 4000);
        let data: Vec<u8> = tone.iter().flat_map(|s| s.to_le_bytes()).collect();
        let len = u32::try_from(data.len()).unwrap();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"RIFF");
        bytes.extend_from_slice(&(36 + len).to_le_bytes());
        bytes.extend_from_slice(b"WAVEfmt ");
        bytes.extend_from_slice(&16u32.to_le_bytes());
        bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
        bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
        bytes.extend_from_slice(&8_000u32.to_le_bytes());
        bytes.extend_from_slice(&16_000u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&16u16.to_le_bytes());
        bytes.extend_from_slice(b"data");
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&data);
        std::fs::write(dir.path().join("en/welcome.wav"), &bytes).unwrap();
        std::fs::write(dir.path().join("en/goodbye.wav"), b"not a wav").unwrap();
        let p = Prompts::with_overrides(dir.path());
        assert_eq!(p.get(Language::En, "welcome").unwrap().len(), tone.len(), "replaced");
        assert_eq!(p.get(Language::En, "goodbye"), Prompts::builtin().get(Language::En, "goodbye"), "bad file skipped");
        assert_eq!(p.get(Language::ZhCn, "welcome"), Prompts::builtin().get(Language::ZhCn, "welcome"));
    }
}
