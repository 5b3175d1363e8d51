//! The shipped prompts (`prompts/<language>/<name>.wav`) cover every name the number speaker
//! can return, so a spoken queue position or amount never names a missing file.

use kefu_core::ivr::Language;
use kefu_core::ivr::say::{NUMBER_PROMPTS_EN, NUMBER_PROMPTS_ZH};
use std::path::PathBuf;

fn dir(lang: Language) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../prompts").join(lang.as_str())
}

#[test]
fn every_number_word_has_a_prompt_file() {
    for (lang, names) in [(Language::ZhCn, NUMBER_PROMPTS_ZH), (Language::En, NUMBER_PROMPTS_EN)] {
        let missing: Vec<&str> =
            names.iter().copied().filter(|n| !dir(lang).join(format!("{n}.wav")).is_file()).collect();
        assert!(missing.is_empty(), "{}: no prompt for {missing:?}", lang.as_str());
    }
}

#[test]
fn the_phrase_prompts_exist_in_both_languages() {
    for name in [
        "welcome",
        "menu_main",
        "invalid",
        "no_input",
        "please_hold",
        "queue_position_pre",
        "queue_position_post",
        "queue_wait_pre",
        "queue_options",
        "after_hours",
        "voicemail",
        "beep",
        "callback_confirm",
        "harassment",
        "goodbye",
        "survey_intro",
        "survey_q1",
        "survey_q2",
        "survey_q3",
        "survey_thanks",
    ] {
        for lang in [Language::ZhCn, Language::En] {
            let path = dir(lang).join(format!("{name}.wav"));
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            assert!(len > 44 + 1_600, "{} is missing or nearly empty ({len} bytes)", path.display());
        }
    }
}
