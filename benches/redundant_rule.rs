//! The redundant-rule lint (TG1005) on 3,000 and 30,000 grants that share one destination,
//! and the scaling ratio of the two measured in the same run (linear is 10; the all-pairs
//! comparison it replaces is 100), printed when really benchmarking (`cargo bench`; never
//! under `cargo test`).
//!
//! `cargo bench --bench redundant_rule -- --warm-up-time 1 --measurement-time 2`

#![allow(
    clippy::panic,
    clippy::print_stdout,
    missing_docs,
    reason = "benchmark code"
)]

/// The binary's allocator (`src/main.rs`), so that the figures are what `tailgrant` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use std::time::{Duration, Instant};
use tailgrant::model::names::Names;
use tailgrant::model::policy::Policy;
use tailgrant::validate::lint::{Context, RULES};
use tailgrant::validate::Options;

#[path = "common/mode.rs"]
mod mode;

/// `n` grants towards `tag:web`, each from its own user, on one of four ports, and one in a
/// hundred repeating an earlier one (so the lint has findings to report).
fn policy(n: usize) -> Policy {
    let mut text =
        String::from("{\"tagOwners\": {\"tag:web\": [\"autogroup:admin\"]},\n\"grants\": [\n");
    for i in 0..n {
        let user = if i % 100 == 99 { i - 50 } else { i };
        let port = [443, 80, 22, 53][user % 4];
        text.push_str(&format!(
            "{{\"src\": [\"user{user}@example.com\"], \"dst\": [\"tag:web\"], \"ip\": [\"tcp:{port}\"]}},\n"
        ));
    }
    text.push_str("]}\n");
    match tailgrant::model::policy::parse_policy(&text) {
        Ok((p, _)) => p,
        Err(e) => panic!("generated policy does not parse: {e:?}"),
    }
}

/// Runs TG1005 alone and returns the number of findings.
fn redundant(policy: &Policy) -> usize {
    let names = Names::new(policy);
    let options = Options::default();
    let context = Context {
        policy,
        names: &names,
        options: &options,
        references: Default::default(),
    };
    let mut out = Vec::new();
    for rule in RULES
        .iter()
        .filter(|r| r.code == tailgrant::codes::REDUNDANT_RULE)
    {
        (rule.run)(&context, &mut out);
    }
    out.len()
}

/// Median of nine runs.
fn median(policy: &Policy) -> Duration {
    let mut times: Vec<Duration> = (0..9)
        .map(|_| {
            let t = Instant::now();
            black_box(redundant(black_box(policy)));
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn bench(c: &mut Criterion) {
    let small = policy(3_000);
    let large = policy(30_000);
    assert_eq!(redundant(&small), 30, "findings in the 3k policy");
    assert_eq!(redundant(&large), 300, "findings in the 30k policy");
    if mode::benchmarking() {
        let (t_small, t_large) = (median(&small), median(&large));
        println!(
            "TG1005 3k grants {:.2} ms, 30k grants {:.2} ms: ratio {:.1} (linear is 10)",
            t_small.as_secs_f64() * 1e3,
            t_large.as_secs_f64() * 1e3,
            t_large.as_secs_f64() / t_small.as_secs_f64()
        );
    }
    let mut group = c.benchmark_group("redundant_rule_shared_destination");
    for (n, p) in [(3_000, &small), (30_000, &large)] {
        group.bench_with_input(BenchmarkId::from_parameter(n), p, |b, p| {
            b.iter(|| black_box(redundant(black_box(p))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
