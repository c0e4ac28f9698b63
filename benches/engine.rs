//! The grant engine at scale.
//!
//! Generated tailnets: a tenth of the nodes are relays (`tag:relay`), the others spread over
//! 100 tag groups. `g` grants: half are relay grants (`tag:gK` -> `tag:relay`, capability
//! `tailscale.com/cap/relay`), half port grants between groups (`tcp:N`).
//!
//! When really benchmarking (`cargo bench`, which passes `--bench`), this prints for each size
//! the table build time (parse excluded; compile + index), the table size in bytes, and the
//! median latency of a relay decision (`allows_allocation`, the relay's hot path; `+why`:
//! `may_allocate`, which also returns the reason and the grants) and of a port question
//! (`allows`); criterion then measures `may_allocate` and `allows` in detail. Under
//! `cargo test` criterion runs each benchmark once and nothing is printed.
//!
//! ```text
//! cargo bench --bench engine                          # 1k and 10k nodes, 100/1k/10k grants
//! TG_BENCH_NODES=1000,10000,100000 cargo bench --bench engine   # add 100k nodes
//! TG_BENCH_GRANTS=100,2000 cargo bench --bench engine           # choose the grant counts
//! ```
//! The same relay decisions in Cedar and regorus: `cargo bench -p tailgrant-peer-bench`
//! (`benches/peers`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs,
    reason = "benchmark code"
)]

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use tailgrant::engine::table::DecisionTable;
use tailgrant::validate::{validate_text, Options};

#[path = "common/generated.rs"]
mod generated;

#[path = "common/mode.rs"]
mod mode;

use generated::{addr, policy, sizes, tailnet};
use mode::benchmarking;

/// The policy `text`, validated by the checker (without a tailnet, without lints).
fn validated(text: &str) -> tailgrant::model::Validated {
    validate_text(text, &Options::default())
        .into_validated()
        .unwrap()
}

/// Median time per call: 15 batches, each long enough to be measured.
fn median(mut f: impl FnMut() -> bool) -> Duration {
    let mut batch = 1u32;
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            black_box(f());
        }
        if t.elapsed() > Duration::from_millis(5) || batch >= 1 << 24 {
            break;
        }
        batch *= 2;
    }
    let mut times: Vec<Duration> = (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                black_box(f());
            }
            t.elapsed() / batch
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn ns(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}

fn engine(c: &mut Criterion) {
    let print = benchmarking();
    if print {
        println!(
            "\n{:>7} {:>6} {:>10} {:>11} {:>9} {:>9} {:>9}",
            "nodes", "grants", "build ms", "table B", "alloc ns", "+why ns", "allows ns",
        );
    }
    for n in sizes("TG_BENCH_NODES", &[1000, 10000]) {
        let t = tailnet(n);
        for g in sizes("TG_BENCH_GRANTS", &[100, 1000, 10000]) {
            let p = validated(&policy(g));
            let start = Instant::now();
            let table = DecisionTable::build(&p, &t);
            let build = start.elapsed();
            // n2 is in group g2, which relay grants name; n0 is a relay.
            let (relay, req) = (table.node("n0").unwrap(), table.node("n2").unwrap());
            assert!(table.allows_allocation(req, relay));
            let src: IpAddr = addr(1).parse().unwrap();
            let dst = table.node("n3").unwrap();
            if print {
                let bytes = table.to_bytes().len();
                let alloc = median(|| table.allows_allocation(black_box(req), black_box(relay)));
                let explained =
                    median(|| table.may_allocate(black_box(req), black_box(relay)).allowed);
                let allows = median(|| table.allows(black_box(src), black_box(dst), 6, 443));
                println!(
                    "{n:>7} {g:>6} {:>10.1} {bytes:>11} {:>9.1} {:>9.1} {:>9.1}",
                    build.as_secs_f64() * 1e3,
                    ns(alloc),
                    ns(explained),
                    ns(allows),
                );
            }

            let mut group = c.benchmark_group(format!("nodes{n}_grants{g}"));
            group
                .sample_size(20)
                .warm_up_time(Duration::from_millis(300))
                .measurement_time(Duration::from_secs(1));
            group.bench_function("allows_allocation", |b| {
                b.iter(|| table.allows_allocation(black_box(req), black_box(relay)))
            });
            group.bench_function("may_allocate", |b| {
                b.iter(|| table.may_allocate(black_box(req), black_box(relay)))
            });
            group.bench_function("allows", |b| {
                b.iter(|| table.allows(black_box(src), black_box(dst), 6, black_box(443)))
            });
            group.finish();
        }
    }
}

criterion_group!(benches, engine);
criterion_main!(benches);
