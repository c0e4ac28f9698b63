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
//! A second table prints the network question (`decide(..).allows(tcp, port)` from `n1` to
//! `n3`), allowed (port 443, opened by one grant) and denied (port 444, opened by none),
//! towards the node (`Dest::Node`) and towards its address (`Dest::Addr`), with the ratio of
//! each to the allowed node question measured in the same run (the baseline).
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

/// The binary's allocator (`src/main.rs`), so that the figures are what `tailgrant` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use tailgrant::engine::table::{DecisionTable, Dest, Query};
use tailgrant::validate::{validate_text, Options};

#[path = "common/generated.rs"]
mod generated;

#[path = "common/mode.rs"]
mod mode;

#[path = "common/median.rs"]
mod median;

use generated::{addr, policy, sizes, tailnet, ALLOWED_PORT, DENIED_PORT};
use median::median;
use mode::benchmarking;

/// The policy `text`, validated by the checker (without a tailnet, without lints).
fn validated(text: &str) -> tailgrant::model::Validated {
    validate_text(text, &Options::default())
        .into_validated()
        .unwrap()
}

fn ns(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}

fn engine(c: &mut Criterion) {
    let print = benchmarking();
    let mut network = Vec::new();
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
            // The network question: n1 (tag:g1) to n3 (tag:g3), towards the node and
            // towards its address, on the port one grant opens and on one none opens.
            let src: IpAddr = addr(1).parse().unwrap();
            let node = Query {
                src,
                dst: Dest::Node(table.node("n3").unwrap()),
            };
            let address = Query {
                src,
                dst: Dest::Addr(addr(3).parse().unwrap()),
            };
            let ask = |q: &Query, port: u16| table.decide(black_box(q)).allows(6, black_box(port));
            for q in [&node, &address] {
                assert!(ask(q, ALLOWED_PORT) && !ask(q, DENIED_PORT), "{q:?}");
            }
            if print {
                let bytes = table.to_bytes().len();
                let alloc = median(|| table.allows_allocation(black_box(req), black_box(relay)));
                let explained =
                    median(|| table.may_allocate(black_box(req), black_box(relay)).allowed);
                let allows = median(|| ask(&node, ALLOWED_PORT));
                let times = [
                    allows,
                    median(|| ask(&node, DENIED_PORT)),
                    median(|| ask(&address, ALLOWED_PORT)),
                    median(|| ask(&address, DENIED_PORT)),
                ];
                network.push((n, g, times));
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
            for (name, q, port) in [
                ("node_allowed", &node, ALLOWED_PORT),
                ("node_denied", &node, DENIED_PORT),
                ("addr_allowed", &address, ALLOWED_PORT),
                ("addr_denied", &address, DENIED_PORT),
            ] {
                group.bench_function(name, |b| b.iter(|| ask(q, port)));
            }
            group.finish();
        }
    }

    if print {
        println!(
            "\nnetwork question, median ns (ratio to the allowed node question of the same size)\n{:>7} {:>6} {:>16} {:>16} {:>16} {:>16}",
            "nodes", "grants", "node allowed", "node denied", "addr allowed", "addr denied"
        );
    }
    for (n, g, times) in network {
        let base = ns(times[0]);
        let cells: Vec<String> = times
            .iter()
            .map(|t| format!("{:.1} ({:.2})", ns(*t), ns(*t) / base))
            .collect();
        println!(
            "{n:>7} {g:>6} {:>16} {:>16} {:>16} {:>16}",
            cells[0], cells[1], cells[2], cells[3]
        );
    }
}

criterion_group!(benches, engine);
criterion_main!(benches);
