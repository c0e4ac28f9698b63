//! Runs `check_text` in a loop on the generated policy of `benches/lsp.rs` (about 10,000
//! lines by default), for a profiler: `perf record -g` on the release build of this example.
//!
//! ```text
//! cargo build --release --example check_loop
//! perf record -g target/release/examples/check_loop 10000 200
//! ```
//!
//! A third argument times one stage alone: `parse` (`hujson::parse`), `decode`
//! (`parse_policy`: parse and decode) or `check` (the whole of `check_text`, the default).

/// The binary's allocator (`src/main.rs`), so that the figures are what `tailgrant` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::time::Instant;
use tailgrant::validate::{check_text, Options};

#[path = "../benches/common/policy_text.rs"]
mod policy_text;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let lines = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100);
    let stage = args.get(3).map_or("check", String::as_str);
    let text = policy_text::policy(lines);
    let start = Instant::now();
    let mut findings = 0;
    for _ in 0..rounds {
        let text = black_box(text.as_str());
        findings = black_box(match stage {
            "parse" => tailgrant::syntax::hujson::parse(text).map_or(1, |(_, d)| d.len()),
            "decode" => tailgrant::model::policy::parse_policy(text).map_or(1, |(_, d)| d.len()),
            _ => check_text(text, &Options::default()).findings.len(),
        });
    }
    let each = start.elapsed().as_secs_f64() * 1e3 / rounds.max(1) as f64;
    println!(
        "{} lines, {findings} findings: {each:.2} ms per {stage} ({rounds} rounds)",
        text.lines().count()
    );
}
