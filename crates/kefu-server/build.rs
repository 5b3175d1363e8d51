//! Embeds the default IVR prompts (`prompts/<language>/<name>.wav` at the workspace root) so
//! the one binary carries them: writes `$OUT_DIR/builtin_prompts.rs`, a table of
//! `(language, name, bytes)` built with `include_bytes!`.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("../../prompts");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut table = String::from(
        "/// The default prompts: (language, name, WAV bytes).\npub static BUILTIN: &[(&str, &str, &[u8])] = &[\n",
    );
    for lang in ["zh-CN", "en"] {
        let dir = root.join(lang);
        println!("cargo:rerun-if-changed={}", dir.display());
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for path in files {
            if path.extension().and_then(|e| e.to_str()) != Some("wav") {
                continue;
            }
            let Some(name) = path.file_stem().and_then(|s| s.to_str()) else { continue };
            let Ok(abs) = path.canonicalize() else { continue };
            let _ = writeln!(table, "    ({lang:?}, {name:?}, include_bytes!({:?})),", abs.display().to_string());
        }
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("builtin_prompts.rs");
    if let Err(e) = std::fs::write(&out, table) {
        panic!("cannot write {}: {e}", out.display());
    }
}
