//! Knowledge-base search at scale: an on-disk index of 100,000 generated articles (mixed
//! Chinese and English, 300–1,500 characters, drawn from a domain vocabulary with a Zipf-like
//! skew, seeded so every run indexes the same text), then 5,000 queries of realistic terms
//! (one to three words, a fifth with filters) as an agent runs them: published and valid now.
//! Prints build time, index size, peak RSS, search latency percentiles and the latency of an
//! incremental write (upsert + commit).
//!
//! `cargo bench -p kefu-store --bench kb_search` (`KB_BENCH_ARTICLES`, `KB_BENCH_QUERIES`
//! override the sizes).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use hdrhistogram::Histogram;
use kefu_core::{ArticleId, Timestamp};
use kefu_store::{Article, ArticleKind, ArticleStatus, KbIndex, KbQuery};
use std::time::Instant;

/// splitmix64: small, seedable, good enough to pick words.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Skewed towards the start of a list (the common words), like real text.
    fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((u * u * u) * n as f64) as usize % n
    }
}

const ZH: &str = "退货 运费 退款 换货 鲜花 不新鲜 补偿 补发 优惠券 物流 快递 没有 更新 签收 包裹 地址 修改 \
账户 冻结 解冻 密码 手机号 安全 诈骗 支付 失败 扣款 到账 发票 电子发票 专票 抬头 保修 维修 上门 送修 寄修 \
网点 检测 屏幕 电池 主板 会员 等级 权益 积分 兑换 生鲜 水果 海鲜 冷链 腐坏 破损 理赔 配送 送达 时段 节日 \
玫瑰 百合 花束 贺卡 订单 取消 客服 投诉 回访 满意 处理 流程 规则 政策 申请 审核 工作日 小时 顾客 商家 承担 \
照片 核实 身份 主管 升级 催件 丢件 索赔 价格 保护 差价 降价 活动 限时 秒杀 拼团 门槛 有效期 过期 延期 \
电视 冰箱 洗衣机 空调 手机 平板 电脑 耳机 笔记本 激活 无理由 七天 质量 问题 故障 报价 收费 配件 人工费 \
银行卡 信用卡 微信 支付宝 余额 额度 限额 风控 异常 对账 财务 仓库 验收 出库 改派 驿站 快递柜 门卫 派送员";

const EN: &str = "refund return shipping cost delivery courier tracking parcel lost damaged faulty warranty \
repair onsite mail-in carry-in service centre account frozen locked password phone security payment failed \
card limit invoice tax membership tier gold silver diamond coupon points flowers bouquet fresh wilted \
compensation resend order cancel address change customer agent ticket complaint callback insurance battery \
screen laptop tablet headphones appliance quote policy days hours working within full partial credit";

const ZH_PUNCT: [&str; 4] = ["，", "。", "；", "、"];
const CATEGORIES: [&str; 5] = ["产品", "政策", "FAQ", "操作指南", "案例"];
const PRODUCTS: [&str; 4] = ["鲜花", "生鲜", "电子产品", "家电"];

fn words(list: &str) -> Vec<&str> {
    list.split_whitespace().collect()
}

fn chinese_text(rng: &mut Rng, zh: &[&str], en: &[&str], chars: usize) -> String {
    let mut s = String::new();
    let mut n = 0;
    while n < chars {
        let w = if rng.below(20) == 0 { en[rng.skewed(en.len())] } else { zh[rng.skewed(zh.len())] };
        s.push_str(w);
        n += w.chars().count();
        if rng.below(6) == 0 {
            s.push_str(ZH_PUNCT[rng.below(ZH_PUNCT.len())]);
            n += 1;
        }
    }
    s
}

fn english_text(rng: &mut Rng, en: &[&str], chars: usize) -> String {
    let mut s = String::new();
    while s.len() < chars {
        if !s.is_empty() {
            s.push(if rng.below(10) == 0 { '.' } else { ' ' });
            if s.ends_with('.') {
                s.push(' ');
            }
        }
        s.push_str(en[rng.skewed(en.len())]);
    }
    s
}

fn articles(n: usize, seed: u64, now: Timestamp) -> Vec<Article> {
    let (zh, en) = (words(ZH), words(EN));
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let english = rng.below(5) == 0;
            let len = 300 + rng.below(1_200);
            let (title, body) = if english {
                {
                    let title_len = 20 + rng.below(40);
                    (english_text(&mut rng, &en, title_len), english_text(&mut rng, &en, len))
                }
            } else {
                {
                    let title_len = 6 + rng.below(14);
                    (chinese_text(&mut rng, &zh, &en, title_len), chinese_text(&mut rng, &zh, &en, len))
                }
            };
            let kind = match rng.below(10) {
                0..=5 => ArticleKind::Article,
                6..=8 => ArticleKind::Faq,
                _ => ArticleKind::Case,
            };
            let status = if rng.below(20) == 0 { ArticleStatus::Draft } else { ArticleStatus::Published };
            let expired = rng.below(25) == 0;
            Article {
                id: ArticleId::from_uuid(kefu_store::new_uuid()),
                kind,
                title,
                body,
                category: CATEGORIES[rng.below(CATEGORIES.len())].to_owned(),
                tags: vec![zh[rng.skewed(zh.len())].to_owned(), zh[rng.skewed(zh.len())].to_owned()],
                product: (rng.below(3) == 0).then(|| PRODUCTS[rng.below(PRODUCTS.len())].to_owned()),
                status,
                valid_from: None,
                valid_to: expired.then(|| Timestamp::from_millis(now.as_millis() - 86_400_000)),
                author_id: None,
                source_ticket: None,
                version: 1,
                created_at: Timestamp::from_millis(now.as_millis() - i as i64),
                updated_at: Timestamp::from_millis(now.as_millis() - i as i64),
            }
        })
        .collect()
}

fn queries(n: usize, seed: u64, now: Timestamp) -> Vec<KbQuery> {
    let (zh, en) = (words(ZH), words(EN));
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            let k = 1 + rng.below(3);
            let q = if rng.below(4) == 0 {
                (0..k).map(|_| en[rng.below(en.len())]).collect::<Vec<_>>().join(" ")
            } else {
                // typed as one run (退货运费) or with spaces (退货 运费)
                let sep = if rng.below(2) == 0 { "" } else { " " };
                (0..k).map(|_| zh[rng.below(zh.len())]).collect::<Vec<_>>().join(sep)
            };
            let filtered = rng.below(5) == 0;
            KbQuery {
                q,
                kind: (filtered && rng.below(2) == 0).then_some(ArticleKind::Faq),
                category: (filtered && rng.below(2) == 0).then(|| CATEGORIES[rng.below(CATEGORIES.len())].to_owned()),
                valid_at: Some(now),
                include_drafts: false,
                limit: 10,
                ..KbQuery::default()
            }
        })
        .collect()
}

/// A `Vm…:` line of /proc/self/status, in KiB.
fn vm_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn dir_size(path: &std::path::Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            total += if meta.is_dir() { dir_size(&e.path()) } else { meta.len() };
        }
    }
    total
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn row(h: &Histogram<u64>, label: &str) {
    let ms = |v: u64| v as f64 / 1_000.0;
    println!(
        "| {label} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
        h.len(),
        ms(h.value_at_quantile(0.50)),
        ms(h.value_at_quantile(0.95)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max()),
        h.mean() / 1_000.0
    );
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument (a filter) is ignored
    let n_articles = env_usize("KB_BENCH_ARTICLES", 100_000);
    let n_queries = env_usize("KB_BENCH_QUERIES", 5_000);
    let now = Timestamp::from_millis(1_795_000_000_000);

    let t = Instant::now();
    let corpus = articles(n_articles, 0x6b65_6675, now);
    let gen_secs = t.elapsed().as_secs_f64();
    let chars: usize = corpus.iter().map(|a| a.body.chars().count()).sum();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kb-index");
    let index = KbIndex::open(&path).unwrap();
    let rss_before = vm_kib("VmRSS:");
    let t = Instant::now();
    kefu_store::kb_warm_up();
    let jieba_ms = t.elapsed().as_secs_f64() * 1_000.0;
    let jieba_mib = vm_kib("VmRSS:").saturating_sub(rss_before) as f64 / 1024.0;
    let t = Instant::now();
    let indexed = index.rebuild(&corpus).unwrap();
    let build_secs = t.elapsed().as_secs_f64();
    let size = dir_size(&path);
    assert_eq!(indexed as usize, n_articles);

    let qs = queries(n_queries, 0x7365_6172, now);
    for q in qs.iter().take(200) {
        index.search(q).unwrap(); // warm the page cache and the allocator
    }
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let mut plain = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let mut filtered = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let mut empty = 0;
    for q in &qs {
        let t = Instant::now();
        let hits = index.search(q).unwrap();
        let us = t.elapsed().as_micros().max(1) as u64;
        all.record(us).unwrap();
        if q.kind.is_some() || q.category.is_some() { filtered.record(us) } else { plain.record(us) }.unwrap();
        if hits.is_empty() {
            empty += 1;
        }
    }

    // incremental writes, as the server does for each change: upsert + commit
    let mut writes = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    for a in corpus.iter().take(200) {
        let mut changed = a.clone();
        changed.version += 1;
        changed.body.push_str("补充说明：已更新。");
        let t = Instant::now();
        index.upsert(&changed).unwrap();
        index.commit().unwrap();
        writes.record(t.elapsed().as_micros().max(1) as u64).unwrap();
    }

    println!();
    println!("## Knowledge-base search ({n_articles} articles, {n_queries} queries)");
    println!();
    println!("| what | value |");
    println!("|---|---|");
    println!("| articles | {n_articles} ({:.1} M body characters, generated in {gen_secs:.1} s) |", chars as f64 / 1e6);
    println!(
        "| index build (rebuild, on disk) | {build_secs:.1} s ({:.0} articles/s) |",
        n_articles as f64 / build_secs
    );
    println!("| index size | {:.1} MiB |", size as f64 / (1024.0 * 1024.0));
    println!("| peak RSS (VmHWM, whole process incl. the corpus) | {:.0} MiB |", vm_kib("VmHWM:") as f64 / 1024.0);
    println!("| jieba dictionary load (once per process) | {jieba_ms:.0} ms, {jieba_mib:.0} MiB |");
    println!("| queries without hits | {empty} |");
    println!();
    println!("| latency (ms) | n | p50 | p95 | p99 | max | mean |");
    println!("|---|---|---|---|---|---|---|");
    row(&all, "search, all queries (top 10, snippets)");
    row(&plain, "search, words only");
    row(&filtered, "search, with kind/category filter");
    row(&writes, "write (upsert + commit)");
}
