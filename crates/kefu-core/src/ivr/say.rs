//! Spoken numbers for the IVR: turns a number, a digit string, an amount of money or a wait
//! time into the list of recorded prompt **names** to play one after another.
//!
//! The IVR has no text-to-speech; it speaks by concatenating short recordings ("one",
//! "hundred", "five", ...). This module only chooses the names; the prompt generator records a
//! WAV per name. The names are a contract with that generator: every name a function here can
//! return is listed in [`NUMBER_PROMPTS_ZH`] or [`NUMBER_PROMPTS_EN`] (and a test checks that
//! the lists are exactly the reachable names).
//!
//! Naming convention (lower-case ASCII, no spaces):
//!
//! - zh-CN: `n0`..`n10` are 零 一 二 三 四 五 六 七 八 九 十; `liang` 两, `yao` 幺, `bai` 百,
//!   `qian` 千, `wan` 万, `yi` 亿, `minus` 负, `yuan` 元, `jiao` 角, `fen` 分, `zheng` 整,
//!   `star` 星号, `hash` 井号, `about` 大约, `minutes` 分钟.
//! - en: `n0`..`n19`, `n20`, `n30`, ..., `n90`, `hundred`, `thousand`, `million`, `billion`,
//!   `trillion`, `quadrillion`, `quintillion`, `minus`, `and`, `yuan`, `cent`, `cents`,
//!   `star`, `hash`, `about`, `minute`, `minutes`.
//!
//! Chinese numbers follow the usual Mandarin reading: 10 is 十 but 110 is 一百一十; a run of
//! zeros inside a number is said as a single 零 and trailing zeros are silent; 两 replaces 二
//! before 千, and before 万 and 亿 when the multiplier is exactly 2 (两千, 两万, 两亿, but
//! 二百, 十二万); groups above 亿 recurse (一万亿). English numbers are American style without
//! "and" ("one hundred five").

use serde::{Deserialize, Serialize};

/// A prompt language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub enum Language {
    /// Simplified Chinese (Mandarin).
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// English.
    #[serde(rename = "en")]
    En,
}

impl Language {
    /// The language tag: `"zh-CN"` or `"en"` (the same as the serde form).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::En => "en",
        }
    }

    /// Parses a language tag, ignoring ASCII case: `zh-CN` or `zh` for Chinese, `en` or
    /// `en-US` for English. Anything else is `None`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("zh-CN") || s.eq_ignore_ascii_case("zh") {
            Some(Language::ZhCn)
        } else if s.eq_ignore_ascii_case("en") || s.eq_ignore_ascii_case("en-US") {
            Some(Language::En)
        } else {
            None
        }
    }
}

/// Every prompt name the zh-CN functions of this module can return.
pub const NUMBER_PROMPTS_ZH: &[&str] = &[
    "n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "n10", "liang", "yao", "bai", "qian", "wan", "yi",
    "minus", "yuan", "jiao", "fen", "zheng", "star", "hash", "about", "minutes",
];

/// Every prompt name the en functions of this module can return.
pub const NUMBER_PROMPTS_EN: &[&str] = &[
    "n0",
    "n1",
    "n2",
    "n3",
    "n4",
    "n5",
    "n6",
    "n7",
    "n8",
    "n9",
    "n10",
    "n11",
    "n12",
    "n13",
    "n14",
    "n15",
    "n16",
    "n17",
    "n18",
    "n19",
    "n20",
    "n30",
    "n40",
    "n50",
    "n60",
    "n70",
    "n80",
    "n90",
    "hundred",
    "thousand",
    "million",
    "billion",
    "trillion",
    "quadrillion",
    "quintillion",
    "minus",
    "and",
    "yuan",
    "cent",
    "cents",
    "star",
    "hash",
    "about",
    "minute",
    "minutes",
];

/// `n0`..`n19`: digits and the English words below twenty (the first eleven double as the
/// Chinese 零..十).
const SMALL: [&str; 20] = [
    "n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "n10", "n11", "n12", "n13", "n14", "n15", "n16", "n17",
    "n18", "n19",
];

/// English tens, indexed by the tens digit (0 and 1 are never used).
const TENS: [&str; 10] = ["n0", "n10", "n20", "n30", "n40", "n50", "n60", "n70", "n80", "n90"];

/// English scale words from the largest down, with their value (`u64` covers `i64::MIN`'s
/// magnitude, which is below 10^19 × 10).
const EN_SCALES: [(u64, &str); 6] = [
    (1_000_000_000_000_000_000, "quintillion"),
    (1_000_000_000_000_000, "quadrillion"),
    (1_000_000_000_000, "trillion"),
    (1_000_000_000, "billion"),
    (1_000_000, "million"),
    (1_000, "thousand"),
];

/// 亿 = 10^8.
const YI: u64 = 100_000_000;
/// 万 = 10^4.
const WAN: u64 = 10_000;

/// Picks `table[i]`. Callers only pass values already reduced below the table length, so the
/// conversion cannot fail on any real platform; an out-of-range index is a bug and panics.
fn pick(table: &[&'static str], i: u64) -> &'static str {
    table[usize::try_from(i).unwrap_or(usize::MAX)]
}

/// Prompt names for a whole number (negative numbers start with "minus").
#[must_use]
pub fn number(lang: Language, n: i64) -> Vec<&'static str> {
    let mut out = Vec::new();
    if n < 0 {
        out.push("minus");
    }
    push_magnitude(lang, n.unsigned_abs(), &mut out);
    out
}

/// Prompt names for a digit string said digit by digit (phone numbers, order numbers).
/// Characters other than 0-9 are skipped, except '*' -> "star" and '#' -> "hash". In zh-CN
/// the digit 1 is said "yao" (幺) as in phone numbers.
#[must_use]
pub fn digits(lang: Language, text: &str) -> Vec<&'static str> {
    text.chars()
        .filter_map(|c| match c {
            '*' => Some("star"),
            '#' => Some("hash"),
            '1' if lang == Language::ZhCn => Some("yao"),
            _ => c.to_digit(10).map(|d| pick(&SMALL, u64::from(d))),
        })
        .collect()
}

/// Prompt names for an amount of money in fen (1/100 yuan): zh-CN "X元Y角Z分" rules; en
/// "X yuan and Y cents".
///
/// zh-CN: the yuan part is left out when it is zero unless the whole amount is zero
/// (五分, 零元); a zero 角 between 元 and a non-zero 分 is said 零 (一百元零五分); whole yuan end
/// with 整 (八元整); a lone 2 before 元 is 两 (两元整).
///
/// en: `n12 yuan and n30 cents`; whole yuan drop the cents (`n1 yuan`), an amount under one
/// yuan drops the yuan (`n5 cents`), zero is `n0 yuan`, and one cent is singular.
#[must_use]
pub fn amount(lang: Language, fen: i64) -> Vec<&'static str> {
    let mut out = Vec::new();
    if fen < 0 {
        out.push("minus");
    }
    let magnitude = fen.unsigned_abs();
    let yuan = magnitude / 100;
    let cents = magnitude % 100;
    match lang {
        Language::ZhCn => {
            let jiao = cents / 10;
            let fen = cents % 10;
            if yuan > 0 {
                push_zh_lone_two(yuan, &mut out);
                out.push("yuan");
            }
            if jiao > 0 {
                out.push(pick(&SMALL, jiao));
                out.push("jiao");
            }
            if fen > 0 {
                if jiao == 0 && yuan > 0 {
                    out.push("n0");
                }
                out.push(pick(&SMALL, fen));
                out.push("fen");
            }
            if cents == 0 {
                if yuan > 0 {
                    out.push("zheng");
                } else {
                    out.extend(["n0", "yuan"]);
                }
            }
        }
        Language::En => {
            if yuan > 0 || cents == 0 {
                push_en(yuan, &mut out);
                out.push("yuan");
            }
            if cents > 0 {
                if yuan > 0 {
                    out.push("and");
                }
                push_en(cents, &mut out);
                out.push(if cents == 1 { "cent" } else { "cents" });
            }
        }
    }
    out
}

/// Prompt names for a wait of `secs` seconds, rounded UP to whole minutes (at least 1):
/// "about N minutes" (en: "about one minute" when N is 1; zh-CN: 大约两分钟 when N is 2).
#[must_use]
pub fn wait_minutes(lang: Language, secs: u64) -> Vec<&'static str> {
    let minutes = secs.div_ceil(60).max(1);
    let mut out = vec!["about"];
    match lang {
        Language::ZhCn => {
            push_zh_lone_two(minutes, &mut out);
            out.push("minutes");
        }
        Language::En => {
            push_en(minutes, &mut out);
            out.push(if minutes == 1 { "minute" } else { "minutes" });
        }
    }
    out
}

/// A non-negative number in `lang`.
fn push_magnitude(lang: Language, n: u64, out: &mut Vec<&'static str>) {
    match lang {
        Language::ZhCn => push_zh(n, out),
        Language::En => push_en(n, out),
    }
}

/// A Chinese number counting something (before a measure word such as 元 or 分钟): a lone 2
/// is 两, anything else is read as usual.
fn push_zh_lone_two(n: u64, out: &mut Vec<&'static str>) {
    if n == 2 {
        out.push("liang");
    } else {
        push_zh(n, out);
    }
}

/// A non-negative Chinese number read on its own (2 is 二, 10 is 十).
fn push_zh(n: u64, out: &mut Vec<&'static str>) {
    if n == 0 {
        out.push("n0");
    } else {
        push_zh_nonzero(n, true, out);
    }
}

/// A positive Chinese number. `leading` is true when nothing of the number has been said yet,
/// so that a leading 一十 is shortened to 十 (十万, but 一百一十 and 一亿零一十万).
fn push_zh_nonzero(n: u64, leading: bool, out: &mut Vec<&'static str>) {
    if n >= YI {
        push_zh_group(n / YI, "yi", n % YI, YI / 10, leading, out);
    } else if n >= WAN {
        push_zh_group(n / WAN, "wan", n % WAN, WAN / 10, leading, out);
    } else {
        push_zh_below_wan(n, leading, out);
    }
}

/// `high` × `unit` + `low`, where `low` is below 10 × `low_top`: a multiplier of exactly 2 is
/// 两; the remainder is introduced by 零 when its top digit is zero.
fn push_zh_group(high: u64, unit: &'static str, low: u64, low_top: u64, leading: bool, out: &mut Vec<&'static str>) {
    if high == 2 {
        out.push("liang");
    } else {
        push_zh_nonzero(high, leading, out);
    }
    out.push(unit);
    if low > 0 {
        if low < low_top {
            out.push("n0");
        }
        push_zh_nonzero(low, false, out);
    }
}

/// A Chinese number from 1 to 9999.
fn push_zh_below_wan(n: u64, leading: bool, out: &mut Vec<&'static str>) {
    let places =
        [(n / 1000 % 10, Some("qian")), (n / 100 % 10, Some("bai")), (n / 10 % 10, Some("n10")), (n % 10, None)];
    let mut started = false;
    let mut zero_pending = false;
    for (digit, unit) in places {
        if digit == 0 {
            zero_pending = started;
            continue;
        }
        if zero_pending {
            out.push("n0");
            zero_pending = false;
        }
        match unit {
            Some("qian") if digit == 2 => out.push("liang"),
            // 十 rather than 一十 at the very start of the number.
            Some("n10") if digit == 1 && !started && leading => {}
            _ => out.push(pick(&SMALL, digit)),
        }
        if let Some(unit) = unit {
            out.push(unit);
        }
        started = true;
    }
}

/// A non-negative English number.
fn push_en(n: u64, out: &mut Vec<&'static str>) {
    if n == 0 {
        out.push("n0");
        return;
    }
    let mut rest = n;
    for (scale, name) in EN_SCALES {
        let count = rest / scale;
        if count > 0 {
            push_en_below_thousand(count, out);
            out.push(name);
            rest %= scale;
        }
    }
    if rest > 0 {
        push_en_below_thousand(rest, out);
    }
}

/// An English number from 1 to 999.
fn push_en_below_thousand(n: u64, out: &mut Vec<&'static str>) {
    let hundreds = n / 100;
    let rest = n % 100;
    if hundreds > 0 {
        out.push(pick(&SMALL, hundreds));
        out.push("hundred");
    }
    if rest >= 20 {
        out.push(pick(&TENS, rest / 10));
        let units = rest % 10;
        if units > 0 {
            out.push(pick(&SMALL, units));
        }
    } else if rest > 0 {
        out.push(pick(&SMALL, rest));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    use Language::{En, ZhCn};

    fn zh(n: i64) -> Vec<&'static str> {
        number(ZhCn, n)
    }

    fn en(n: i64) -> Vec<&'static str> {
        number(En, n)
    }

    /// Renders zh-CN prompt names as Chinese characters, to make expectations readable.
    fn hanzi(names: &[&str]) -> String {
        names
            .iter()
            .map(|name| match *name {
                "n0" => "零",
                "n1" => "一",
                "n2" => "二",
                "n3" => "三",
                "n4" => "四",
                "n5" => "五",
                "n6" => "六",
                "n7" => "七",
                "n8" => "八",
                "n9" => "九",
                "n10" => "十",
                "liang" => "两",
                "yao" => "幺",
                "bai" => "百",
                "qian" => "千",
                "wan" => "万",
                "yi" => "亿",
                "minus" => "负",
                "yuan" => "元",
                "jiao" => "角",
                "fen" => "分",
                "zheng" => "整",
                "star" => "星号",
                "hash" => "井号",
                "about" => "大约",
                "minutes" => "分钟",
                other => panic!("not a zh-CN prompt: {other}"),
            })
            .collect()
    }

    #[test]
    fn language_tags() {
        assert_eq!(Language::default(), ZhCn);
        assert_eq!(ZhCn.as_str(), "zh-CN");
        assert_eq!(En.as_str(), "en");
        for tag in ["zh-CN", "zh", "zh-cn", "ZH-CN", "Zh"] {
            assert_eq!(Language::parse(tag), Some(ZhCn), "{tag}");
        }
        for tag in ["en", "en-US", "EN", "en-us"] {
            assert_eq!(Language::parse(tag), Some(En), "{tag}");
        }
        for tag in ["", "fr", "zh-TW", "english", " en"] {
            assert_eq!(Language::parse(tag), None, "{tag}");
        }
        for lang in [ZhCn, En] {
            assert_eq!(Language::parse(lang.as_str()), Some(lang));
        }
    }

    #[test]
    fn language_serde_uses_tags() {
        assert_eq!(serde_json::to_string(&ZhCn).unwrap(), "\"zh-CN\"");
        assert_eq!(serde_json::to_string(&En).unwrap(), "\"en\"");
        assert_eq!(serde_json::from_str::<Language>("\"zh-CN\"").unwrap(), ZhCn);
        assert_eq!(serde_json::from_str::<Language>("\"en\"").unwrap(), En);
        assert!(serde_json::from_str::<Language>("\"ZhCn\"").is_err());
    }

    #[test]
    fn zh_small_numbers() {
        assert_eq!(zh(0), ["n0"]);
        assert_eq!(zh(1), ["n1"]);
        assert_eq!(zh(2), ["n2"]);
        assert_eq!(zh(9), ["n9"]);
        assert_eq!(zh(10), ["n10"]);
        assert_eq!(zh(11), ["n10", "n1"]);
        assert_eq!(zh(19), ["n10", "n9"]);
        assert_eq!(zh(20), ["n2", "n10"]);
        assert_eq!(zh(22), ["n2", "n10", "n2"]);
        assert_eq!(zh(99), ["n9", "n10", "n9"]);
    }

    #[test]
    fn zh_hundreds_and_thousands() {
        assert_eq!(zh(100), ["n1", "bai"]);
        assert_eq!(zh(105), ["n1", "bai", "n0", "n5"]);
        assert_eq!(zh(110), ["n1", "bai", "n1", "n10"]);
        assert_eq!(zh(111), ["n1", "bai", "n1", "n10", "n1"]);
        assert_eq!(zh(200), ["n2", "bai"]);
        assert_eq!(zh(1000), ["n1", "qian"]);
        assert_eq!(zh(1005), ["n1", "qian", "n0", "n5"]);
        assert_eq!(zh(1050), ["n1", "qian", "n0", "n5", "n10"]);
        assert_eq!(zh(1500), ["n1", "qian", "n5", "bai"]);
        assert_eq!(zh(2000), ["liang", "qian"]);
        assert_eq!(zh(2222), ["liang", "qian", "n2", "bai", "n2", "n10", "n2"]);
        assert_eq!(zh(1010), ["n1", "qian", "n0", "n1", "n10"]);
        assert_eq!(zh(9999), ["n9", "qian", "n9", "bai", "n9", "n10", "n9"]);
    }

    #[test]
    fn zh_wan_and_yi() {
        assert_eq!(zh(10_000), ["n1", "wan"]);
        assert_eq!(zh(20_000), ["liang", "wan"]);
        assert_eq!(zh(22_000), ["liang", "wan", "liang", "qian"]);
        assert_eq!(zh(100_000), ["n10", "wan"]);
        assert_eq!(zh(100_010), ["n10", "wan", "n0", "n1", "n10"]);
        assert_eq!(zh(120_000), ["n10", "n2", "wan"]);
        assert_eq!(zh(10_001), ["n1", "wan", "n0", "n1"]);
        assert_eq!(zh(10_100), ["n1", "wan", "n0", "n1", "bai"]);
        assert_eq!(zh(11_000), ["n1", "wan", "n1", "qian"]);
        assert_eq!(zh(20_000_000), ["liang", "qian", "wan"]);
        assert_eq!(
            zh(12_345_678),
            ["n1", "qian", "n2", "bai", "n3", "n10", "n4", "wan", "n5", "qian", "n6", "bai", "n7", "n10", "n8"]
        );
        assert_eq!(zh(100_000_000), ["n1", "yi"]);
        assert_eq!(zh(200_000_000), ["liang", "yi"]);
        assert_eq!(zh(100_000_001), ["n1", "yi", "n0", "n1"]);
        assert_eq!(zh(100_100_000), ["n1", "yi", "n0", "n1", "n10", "wan"]);
        assert_eq!(zh(110_000_000), ["n1", "yi", "n1", "qian", "wan"]);
        assert_eq!(zh(1_000_000_000), ["n10", "yi"]);
        assert_eq!(zh(1_000_000_000_000), ["n1", "wan", "yi"]);
        assert_eq!(zh(2_000_000_000_000), ["liang", "wan", "yi"]);
    }

    #[test]
    fn zh_readings_as_hanzi() {
        let cases: &[(i64, &str)] = &[
            (0, "零"),
            (10, "十"),
            (11, "十一"),
            (20, "二十"),
            (105, "一百零五"),
            (110, "一百一十"),
            (1000, "一千"),
            (1005, "一千零五"),
            (1050, "一千零五十"),
            (2000, "两千"),
            (10_000, "一万"),
            (20_000, "两万"),
            (100_000, "十万"),
            (100_010, "十万零一十"),
            (12_345_678, "一千二百三十四万五千六百七十八"),
            (100_000_000, "一亿"),
            (1_000_000_000_000, "一万亿"),
            (1_0001_0000_0000, "一万零一亿"),
            (10_0500_0000, "十亿零五百万"),
            (1_0000_1000, "一亿零一千"),
            (2_0002_0000, "两亿零两万"),
            (-15, "负十五"),
            (-2000, "负两千"),
        ];
        for &(n, reading) in cases {
            assert_eq!(hanzi(&zh(n)), reading, "{n}");
        }
    }

    #[test]
    fn zh_extremes() {
        assert_eq!(hanzi(&zh(i64::MAX)), "九百二十二亿三千三百七十二万零三百六十八亿五千四百七十七万五千八百零七");
        assert_eq!(hanzi(&zh(i64::MIN)), "负九百二十二亿三千三百七十二万零三百六十八亿五千四百七十七万五千八百零八");
        assert_eq!(hanzi(&zh(-1)), "负一");
        assert_eq!(
            hanzi(&zh(i64::MIN + 1)),
            "负九百二十二亿三千三百七十二万零三百六十八亿五千四百七十七万五千八百零七"
        );
    }

    #[test]
    fn zh_never_doubles_or_trails_zero() {
        for n in (0..=2_000_000).step_by(37).chain([100_000_001, 1_0000_0000_0001, i64::MAX]) {
            let names = zh(n);
            if n != 0 {
                assert_ne!(names.last(), Some(&"n0"), "{n}: {names:?}");
                assert_ne!(names.first(), Some(&"n0"), "{n}: {names:?}");
            }
            assert!(!names.windows(2).any(|w| w == ["n0", "n0"]), "{n}: {names:?}");
        }
    }

    #[test]
    fn en_numbers() {
        assert_eq!(en(0), ["n0"]);
        assert_eq!(en(7), ["n7"]);
        assert_eq!(en(13), ["n13"]);
        assert_eq!(en(20), ["n20"]);
        assert_eq!(en(21), ["n20", "n1"]);
        assert_eq!(en(99), ["n90", "n9"]);
        assert_eq!(en(100), ["n1", "hundred"]);
        assert_eq!(en(105), ["n1", "hundred", "n5"]);
        assert_eq!(en(110), ["n1", "hundred", "n10"]);
        assert_eq!(en(1234), ["n1", "thousand", "n2", "hundred", "n30", "n4"]);
        assert_eq!(en(2000), ["n2", "thousand"]);
        assert_eq!(en(1_000_000), ["n1", "million"]);
        assert_eq!(en(1_000_001), ["n1", "million", "n1"]);
        assert_eq!(
            en(12_345_678),
            ["n12", "million", "n3", "hundred", "n40", "n5", "thousand", "n6", "hundred", "n70", "n8"]
        );
        assert_eq!(en(1_000_000_000), ["n1", "billion"]);
        assert_eq!(en(1_000_000_000_000), ["n1", "trillion"]);
        assert_eq!(en(-42), ["minus", "n40", "n2"]);
    }

    #[test]
    fn en_extremes() {
        // 9,223,372,036,854,775,807
        assert_eq!(
            en(i64::MAX),
            [
                "n9",
                "quintillion",
                "n2",
                "hundred",
                "n20",
                "n3",
                "quadrillion",
                "n3",
                "hundred",
                "n70",
                "n2",
                "trillion",
                "n30",
                "n6",
                "billion",
                "n8",
                "hundred",
                "n50",
                "n4",
                "million",
                "n7",
                "hundred",
                "n70",
                "n5",
                "thousand",
                "n8",
                "hundred",
                "n7"
            ]
        );
        let min = en(i64::MIN);
        assert_eq!(min[0], "minus");
        assert_eq!(min[1..min.len() - 1], en(i64::MAX)[..en(i64::MAX).len() - 1]);
        assert_eq!(min.last(), Some(&"n8"));
    }

    #[test]
    fn digit_strings() {
        assert_eq!(digits(ZhCn, "110"), ["yao", "yao", "n0"]);
        assert_eq!(digits(ZhCn, "138-0013 8000"), ["yao", "n3", "n8", "n0", "n0", "yao", "n3", "n8", "n0", "n0", "n0"]);
        assert_eq!(digits(ZhCn, "*2#"), ["star", "n2", "hash"]);
        assert_eq!(digits(En, "+1 (555) 010-9"), ["n1", "n5", "n5", "n5", "n0", "n1", "n0", "n9"]);
        assert_eq!(
            digits(En, "0123456789*#"),
            ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "star", "hash"]
        );
        assert!(digits(En, "").is_empty());
        assert!(digits(ZhCn, "abc 一二三 ١٢").is_empty());
    }

    #[test]
    fn zh_amounts() {
        let cases: &[(i64, &str)] = &[
            (1230, "十二元三角"),
            (5, "五分"),
            (50, "五角"),
            (55, "五角五分"),
            (10_005, "一百元零五分"),
            (0, "零元"),
            (800, "八元整"),
            (200, "两元整"),
            (2000, "二十元整"),
            (1200, "十二元整"),
            (2_000_000, "两万元整"),
            (205, "两元零五分"),
            (220, "两元二角"),
            (1001, "十元零一分"),
            (1010, "十元一角"),
            (12_345_678, "十二万三千四百五十六元七角八分"),
            (-800, "负八元整"),
            (-5, "负五分"),
            (10_000_000_000, "一亿元整"),
        ];
        for &(fen, reading) in cases {
            assert_eq!(hanzi(&amount(ZhCn, fen)), reading, "{fen}");
        }
        assert_eq!(amount(ZhCn, 1230), ["n10", "n2", "yuan", "n3", "jiao"]);
        assert_eq!(amount(ZhCn, 10_005), ["n1", "bai", "yuan", "n0", "n5", "fen"]);
        assert_eq!(amount(ZhCn, 200), ["liang", "yuan", "zheng"]);
        assert_eq!(amount(ZhCn, 0), ["n0", "yuan"]);
    }

    #[test]
    fn en_amounts() {
        assert_eq!(amount(En, 1230), ["n12", "yuan", "and", "n30", "cents"]);
        assert_eq!(amount(En, 100), ["n1", "yuan"]);
        assert_eq!(amount(En, 1), ["n1", "cent"]);
        assert_eq!(amount(En, 101), ["n1", "yuan", "and", "n1", "cent"]);
        assert_eq!(amount(En, 0), ["n0", "yuan"]);
        assert_eq!(amount(En, 99), ["n90", "n9", "cents"]);
        assert_eq!(amount(En, 10_005), ["n1", "hundred", "yuan", "and", "n5", "cents"]);
        assert_eq!(amount(En, -250), ["minus", "n2", "yuan", "and", "n50", "cents"]);
    }

    #[test]
    fn amount_extremes() {
        // i64::MIN fen = -92,233,720,368,547,758.08 yuan = 9,2233,7203 亿 6854,7758 元.
        let zh_min = amount(ZhCn, i64::MIN);
        assert_eq!(hanzi(&zh_min), "负九亿两千二百三十三万七千二百零三亿六千八百五十四万七千七百五十八元零八分");
        let zh_max = amount(ZhCn, i64::MAX);
        assert_eq!(hanzi(&zh_max), "九亿两千二百三十三万七千二百零三亿六千八百五十四万七千七百五十八元零七分");
        let en_max = amount(En, i64::MAX);
        assert_eq!(en_max[..3], ["n90", "n2", "quadrillion"]);
        assert_eq!(en_max[en_max.len() - 4..], ["yuan", "and", "n7", "cents"]);
    }

    #[test]
    fn waits() {
        assert_eq!(wait_minutes(En, 0), ["about", "n1", "minute"]);
        assert_eq!(wait_minutes(En, 1), ["about", "n1", "minute"]);
        assert_eq!(wait_minutes(En, 60), ["about", "n1", "minute"]);
        assert_eq!(wait_minutes(En, 61), ["about", "n2", "minutes"]);
        assert_eq!(wait_minutes(En, 1260), ["about", "n20", "n1", "minutes"]);
        assert_eq!(wait_minutes(ZhCn, 0), ["about", "n1", "minutes"]);
        assert_eq!(wait_minutes(ZhCn, 90), ["about", "liang", "minutes"]);
        assert_eq!(wait_minutes(ZhCn, 120), ["about", "liang", "minutes"]);
        assert_eq!(hanzi(&wait_minutes(ZhCn, 121)), "大约三分钟");
        assert_eq!(hanzi(&wait_minutes(ZhCn, 600)), "大约十分钟");
        assert_eq!(hanzi(&wait_minutes(ZhCn, 1200)), "大约二十分钟");
        assert_eq!(hanzi(&wait_minutes(ZhCn, 1320)), "大约二十二分钟");
        assert_eq!(hanzi(&wait_minutes(ZhCn, 7200)), "大约一百二十分钟");
        // u64::MAX seconds = 307,445,734,561,825,861 minutes after rounding up.
        assert_eq!(wait_minutes(En, u64::MAX)[..3], ["about", "n3", "hundred"]);
        assert_eq!(wait_minutes(ZhCn, u64::MAX).last(), Some(&"minutes"));
    }

    /// Every name produced for many inputs, per language.
    fn reachable(lang: Language) -> BTreeSet<&'static str> {
        let mut seen = BTreeSet::new();
        let large = [
            99_999,
            100_000,
            123_456_789,
            2_000_000_000,
            1_000_000_000_000,
            2_002_000_000_000_000,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
            -1,
            -20_000,
        ];
        for n in (0..=20_000).step_by(7).chain(0..=120).chain(large) {
            seen.extend(number(lang, n));
            seen.extend(amount(lang, n));
            seen.extend(amount(lang, n.saturating_neg()));
        }
        for secs in (0..=20_000).step_by(13).chain([u64::MAX]) {
            seen.extend(wait_minutes(lang, secs));
        }
        seen.extend(digits(lang, "0123456789*#"));
        seen
    }

    #[test]
    fn every_name_is_listed_and_every_listed_name_is_used() {
        for (lang, list) in [(ZhCn, NUMBER_PROMPTS_ZH), (En, NUMBER_PROMPTS_EN)] {
            let listed: BTreeSet<&str> = list.iter().copied().collect();
            assert_eq!(listed.len(), list.len(), "{lang:?}: duplicate names");
            let seen = reachable(lang);
            let unlisted: Vec<_> = seen.difference(&listed).collect();
            assert!(unlisted.is_empty(), "{lang:?}: returned but not listed: {unlisted:?}");
            let unused: Vec<_> = listed.difference(&seen).collect();
            assert!(unused.is_empty(), "{lang:?}: listed but never returned: {unused:?}");
        }
    }

    #[test]
    fn names_are_lower_case_ascii_without_spaces() {
        for name in NUMBER_PROMPTS_ZH.iter().chain(NUMBER_PROMPTS_EN) {
            assert!(!name.is_empty());
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "bad prompt name {name:?}");
        }
    }
}
