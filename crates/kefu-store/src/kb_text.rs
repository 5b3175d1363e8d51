//! Text handling for the knowledge-base index: the tokenizer (jieba for Chinese, English
//! words lower-cased and stemmed), Markdown reduced to plain text, and highlighting.
//!
//! Our own small tantivy [`Tokenizer`] around jieba-rs rather than a glue crate: the glue
//! crates pin a tantivy version of their own and lag behind its releases (ADR 0010).

use jieba_rs::Jieba;
use std::collections::HashSet;
use std::ops::Range;
use std::sync::OnceLock;
use tantivy::tokenizer::{Language, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer};

/// The name the analyzer is registered under in every index.
pub(crate) const TOKENIZER: &str = "kb_zh_en";

/// Longest token kept, in bytes (longer ones are noise: hashes, URLs without separators).
const MAX_TOKEN_BYTES: usize = 64;

/// The one jieba instance: it loads its dictionary (about 350,000 words) once, on first use.
fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

/// Loads jieba's dictionary now rather than on the first search (call from a blocking task).
pub fn warm_up() {
    let _ = jieba();
}

/// Splits text with jieba in search mode (whole words and the shorter words inside them)
/// together with full mode (every dictionary word of two or more characters, wherever it
/// starts), HMM off so the segmentation is deterministic; drops tokens without a letter or
/// digit and lower-cases the rest. Offsets are byte offsets into the text, in increasing order.
#[derive(Clone, Default)]
pub(crate) struct JiebaTokenizer;

/// The tokens of one text.
pub(crate) struct JiebaTokenStream {
    tokens: Vec<Token>,
    next: usize,
    /// Returned by `token()` before the first `advance()` (tantivy never asks then).
    placeholder: Token,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream {
        // search mode's best path, plus every dictionary word anywhere (full mode): `退货运费`
        // is cut 退 / 货运费 on the best path, yet must be found by 退货
        let mut words = jieba().cut_for_search(text, false);
        words.extend(jieba().cut_all(text).into_iter().filter(|w| w.end - w.start > 1));
        words.sort_by_key(|w| (w.byte_start, w.byte_end));
        words.dedup_by_key(|w| (w.byte_start, w.byte_end));
        let mut tokens = Vec::with_capacity(words.len());
        for w in words {
            if w.word.len() > MAX_TOKEN_BYTES || !w.word.chars().any(char::is_alphanumeric) {
                continue;
            }
            tokens.push(Token {
                offset_from: w.byte_start,
                offset_to: w.byte_end,
                position: tokens.len(),
                text: w.word.to_lowercase(),
                position_length: 1,
            });
        }
        JiebaTokenStream { tokens, next: 0, placeholder: Token::default() }
    }
}

impl TokenStream for JiebaTokenStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        self.next.checked_sub(1).and_then(|i| self.tokens.get(i)).unwrap_or(&self.placeholder)
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.next.checked_sub(1) {
            Some(i) if i < self.tokens.len() => &mut self.tokens[i],
            _ => &mut self.placeholder,
        }
    }
}

/// The analyzer used for indexing and for queries: jieba, then English stemming (Snowball;
/// it leaves Chinese words alone).
pub(crate) fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(JiebaTokenizer).filter(Stemmer::new(Language::English)).build()
}

/// Words that carry no meaning in a query (dropped unless the query has nothing else).
const STOP_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "not",
    "of",
    "to",
    "in",
    "on",
    "for",
    "is",
    "are",
    "be",
    "my",
    "i",
    "me",
    "it",
    "do",
    "doe",
    "how",
    "what",
    "whi",
    "with",
    "can",
    "you",
    "your",
    "的",
    "了",
    "吗",
    "呢",
    "吧",
    "啊",
    "我",
    "你",
    "是",
    "在",
    "和",
    "与",
    "怎么",
    "怎么办",
    "如何",
    "什么",
    "为什么",
    "请问",
    "一下",
    "呀",
    "么",
];

/// The search terms of a query: distinct analysed tokens in order of appearance, stop words
/// dropped unless nothing else is left, at most `max`.
pub(crate) fn query_terms(analyzer: &mut TextAnalyzer, q: &str, max: usize) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    let mut stream = analyzer.token_stream(q);
    while let Some(t) = stream.next() {
        if !all.contains(&t.text) {
            all.push(t.text.clone());
        }
    }
    let meaningful: Vec<String> = all.iter().filter(|t| !STOP_WORDS.contains(&t.as_str())).cloned().collect();
    let terms = if meaningful.is_empty() { all } else { meaningful };
    // a lone character inside a longer term (退 of 退货) only adds noise and work
    let mut kept: Vec<String> = terms
        .iter()
        .filter(|t| t.chars().count() > 1 || !terms.iter().any(|o| o.len() > t.len() && o.contains(t.as_str())))
        .cloned()
        .collect();
    kept.truncate(max);
    kept
}

/// The lower-cased words of a query as typed (before stemming), to find where in a long
/// text the best snippet is.
pub(crate) fn surface_words(q: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in JiebaTokenizer.token_stream(q).tokens {
        if !out.contains(&t.text) {
            out.push(t.text);
        }
    }
    out
}

/// Byte ranges of `text` whose tokens are among `terms`, merged where they overlap.
pub(crate) fn matches(analyzer: &mut TextAnalyzer, text: &str, terms: &HashSet<String>) -> Vec<Range<usize>> {
    let mut ranges: Vec<Range<usize>> = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(t) = stream.next() {
        if terms.contains(&t.text) {
            ranges.push(t.offset_from..t.offset_to);
        }
    }
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<Range<usize>> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// `text` HTML-escaped with `<mark>…</mark>` around the given (sorted, disjoint) ranges.
pub(crate) fn mark(text: &str, ranges: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len() + ranges.len() * 13);
    let mut at = 0;
    for r in ranges {
        if r.start < at || r.end > text.len() || !text.is_char_boundary(r.start) || !text.is_char_boundary(r.end) {
            continue;
        }
        escape_into(&mut out, &text[at..r.start]);
        out.push_str("<mark>");
        escape_into(&mut out, &text[r.clone()]);
        out.push_str("</mark>");
        at = r.end;
    }
    escape_into(&mut out, &text[at..]);
    out
}

/// Appends `s` with `& < > " '` escaped.
pub(crate) fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Characters of context in a snippet.
const SNIPPET_CHARS: usize = 120;
/// Characters shown before the first match.
const SNIPPET_LEAD_CHARS: usize = 30;

/// A short piece of `text` around its best match, HTML-escaped, with the matching words
/// marked. `surface` are the query's words as typed, `terms` its analysed terms.
pub(crate) fn snippet(analyzer: &mut TextAnalyzer, text: &str, surface: &[String], terms: &HashSet<String>) -> String {
    let (start, end) = window(text, surface);
    let piece = &text[start..end];
    let ranges = matches(analyzer, piece, terms);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.push_str(&mark(piece, &ranges));
    if end < text.len() {
        out.push('…');
    }
    out
}

/// The byte window of about [`SNIPPET_CHARS`] characters holding the most distinct query
/// words (the text's beginning when none occurs).
fn window(text: &str, surface: &[String]) -> (usize, usize) {
    let lower = text.to_ascii_lowercase();
    let mut hits: Vec<(usize, usize)> = Vec::new(); // (byte offset, word index)
    for (i, w) in surface.iter().enumerate() {
        if w.is_empty() {
            continue;
        }
        for (at, _) in lower.match_indices(w.as_str()).take(20) {
            hits.push((at, i));
        }
    }
    hits.sort_unstable();
    let span = |from: usize| -> (usize, usize) {
        let start = back_chars(text, from, SNIPPET_LEAD_CHARS);
        (start, forward_chars(text, start, SNIPPET_CHARS))
    };
    let mut best = span(0);
    let mut best_score = 0;
    for &(at, _) in &hits {
        let (s, e) = span(at);
        let mut seen: Vec<usize> = hits.iter().filter(|(h, _)| *h >= s && *h < e).map(|(_, w)| *w).collect();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() > best_score {
            best_score = seen.len();
            best = (s, e);
        }
    }
    best
}

/// The byte offset `n` characters before `at` (or 0), at a character boundary.
fn back_chars(text: &str, at: usize, n: usize) -> usize {
    text[..at].char_indices().rev().nth(n.saturating_sub(1)).map_or(0, |(i, _)| i)
}

/// The byte offset `n` characters after `from` (or the end).
fn forward_chars(text: &str, from: usize, n: usize) -> usize {
    text[from..].char_indices().nth(n).map_or(text.len(), |(i, _)| from + i)
}

/// Markdown reduced to the text a reader sees: heading, quote and list markers, emphasis,
/// code ticks, table pipes and link targets removed; one line per line.
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for line in markdown.lines() {
        let mut l = line.trim();
        if l.chars().all(|c| matches!(c, '-' | '|' | ':' | ' ' | '=' | '*' | '_')) {
            // table separators, horizontal rules, blank lines
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            continue;
        }
        l = l.trim_start_matches('#').trim_start();
        while let Some(rest) = l.strip_prefix('>') {
            l = rest.trim_start();
        }
        for marker in ["- ", "* ", "+ "] {
            if let Some(rest) = l.strip_prefix(marker) {
                l = rest;
            }
        }
        if let Some(dot) = l.find(". ")
            && dot > 0
            && dot <= 3
            && l[..dot].chars().all(|c| c.is_ascii_digit())
        {
            l = &l[dot + 2..];
        }
        let mut line_text = String::with_capacity(l.len());
        inline_plain(l, &mut line_text);
        let mut first = true;
        for word in line_text.split_whitespace() {
            if !first {
                out.push(' ');
            }
            out.push_str(word);
            first = false;
        }
        out.push('\n');
    }
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

/// Inline Markdown: `[text](url)` and `![alt](url)` become the text, `**`, `__` and
/// backticks go, table pipes become spaces.
fn inline_plain(l: &str, out: &mut String) {
    let mut rest = l;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("**").or_else(|| rest.strip_prefix("__")) {
            rest = after;
            continue;
        }
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { break };
        match c {
            '`' => rest = chars.as_str(),
            '|' => {
                out.push(' ');
                rest = chars.as_str();
            }
            '!' if rest[1..].starts_with('[') => rest = &rest[1..],
            '[' => match link(rest) {
                Some((text, after)) => {
                    out.push_str(text);
                    rest = after;
                }
                None => {
                    out.push('[');
                    rest = chars.as_str();
                }
            },
            c => {
                out.push(c);
                rest = chars.as_str();
            }
        }
    }
}

/// `[text](target)rest` → (`text`, `rest`).
fn link(s: &str) -> Option<(&str, &str)> {
    let close = s.find("](")?;
    let text = &s[1..close];
    if text.contains('[') {
        return None;
    }
    let after = &s[close + 2..];
    let end = after.find(')')?;
    Some((text, &after[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        let mut a = analyzer();
        let mut s = a.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = s.next() {
            out.push(t.text.clone());
        }
        out
    }

    #[test]
    fn chinese_is_segmented_into_words_and_inner_words() {
        let t = tokens("鲜花收到时不新鲜，怎么办？");
        assert!(t.contains(&"鲜花".to_owned()), "{t:?}");
        assert!(t.contains(&"新鲜".to_owned()), "{t:?}");
        assert!(!t.iter().any(|x| x == "，" || x == "？"), "punctuation is dropped: {t:?}");
        let t = tokens("中华人民共和国");
        assert!(t.contains(&"中华人民共和国".to_owned()) && t.contains(&"人民".to_owned()), "{t:?}");
    }

    #[test]
    fn english_is_lowercased_and_stemmed_and_chinese_is_not_stemmed() {
        let t = tokens("Refund the SHIPPING costs, 退货运费");
        assert!(t.contains(&"refund".to_owned()), "{t:?}");
        assert!(t.contains(&"ship".to_owned()), "{t:?}");
        assert!(t.contains(&"cost".to_owned()), "{t:?}");
        assert!(t.contains(&"运费".to_owned()), "{t:?}");
    }

    #[test]
    fn offsets_increase_and_point_at_the_word() {
        let text = "Warranty 保修期内免费维修 repairs";
        let mut a = analyzer();
        let mut s = a.token_stream(text);
        let mut last = 0;
        while let Some(t) = s.next() {
            assert!(t.offset_from >= last);
            last = t.offset_from;
            assert!(text.is_char_boundary(t.offset_from) && text.is_char_boundary(t.offset_to));
        }
    }

    #[test]
    fn punctuation_and_syntax_only_text_has_no_tokens() {
        assert!(tokens("！？。，、（）…… \"AND OR (").iter().all(|t| t == "and" || t == "or"));
        assert!(tokens("（）【】!!!---").is_empty());
        let mut a = analyzer();
        assert!(query_terms(&mut a, "  ，。！ ", 16).is_empty());
    }

    #[test]
    fn stop_words_are_dropped_from_queries_unless_alone() {
        let mut a = analyzer();
        assert_eq!(query_terms(&mut a, "how to refund", 16), vec!["refund".to_owned()]);
        assert_eq!(query_terms(&mut a, "the", 16), vec!["the".to_owned()]);
    }

    #[test]
    fn lone_characters_inside_longer_query_terms_are_dropped() {
        let mut a = analyzer();
        let t = query_terms(&mut a, "退货运费", 16);
        assert!(t.contains(&"退货".to_owned()) && t.contains(&"运费".to_owned()), "{t:?}");
        assert!(!t.contains(&"退".to_owned()), "{t:?}");
        let t = query_terms(&mut a, "鲜花不新鲜", 16);
        assert!(t.contains(&"不".to_owned()), "a lone character no other term holds stays: {t:?}");
        assert_eq!(query_terms(&mut a, "退", 16), vec!["退".to_owned()]);
    }

    #[test]
    fn marks_are_escaped_and_merged() {
        let mut a = analyzer();
        let terms: HashSet<String> = ["鲜花".to_owned(), "新鲜".to_owned()].into();
        let text = "<b>鲜花</b>不新鲜 & 退款";
        let r = matches(&mut a, text, &terms);
        let html = mark(text, &r);
        assert_eq!(html, "&lt;b&gt;<mark>鲜花</mark>&lt;/b&gt;不<mark>新鲜</mark> &amp; 退款");
    }

    #[test]
    fn snippet_shows_the_best_window_of_a_long_text() {
        let mut a = analyzer();
        let filler = "这是一段与问题无关的说明文字。".repeat(40);
        let text = format!("{filler}退货运费由谁承担：质量问题由商家承担运费。{filler}");
        let q = "退货 运费";
        let terms: HashSet<String> = query_terms(&mut a, q, 16).into_iter().collect();
        let s = snippet(&mut a, &text, &surface_words(q), &terms);
        assert!(s.contains("<mark>运费</mark>"), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.chars().count() < 200, "{s}");
    }

    #[test]
    fn markdown_becomes_plain_text() {
        let md = "# 退货政策\n\n> 注意：**七天**无理由\n\n- 第一条 [详情](https://x.invalid/a)\n1. 步骤 `code`\n\n| 项目 | 费用 |\n|---|---|\n| 运费 | 10 元 |";
        assert_eq!(plain_text(md), "退货政策\n注意：七天无理由\n第一条 详情\n步骤 code\n项目 费用\n运费 10 元");
    }
}
