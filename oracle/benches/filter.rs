//! The decision table's network query against Tailscale's Rust packet filter
//! (`ts_bart_packetfilter`, the accelerated filter of tailscale-rs), in the same run, on the
//! same compiled rules.
//!
//! Generated tailnets of `n` nodes in 100 tag groups (`tag:gK`), `g` port grants (grant `i`:
//! `tag:g((i / 100) mod 100)` to `tag:g(i mod 100)` on `tcp:(1000 + i)`, so a node's filter
//! has `g / 100` rules with different sources). tailscale-rs gets
//! the filter that tailgrant compiles for one destination node; both are asked the same
//! allowed question (a source in a granting group, on the granted port) and the same denied
//! one (the same source on port 999, which no grant opens). `g = 0` is the empty filter.
//!
//! It prints the median of each and the ratios, then criterion measures them in detail:
//! ```text
//! cargo bench -p tailgrant-oracle --bench filter
//! ORACLE_BENCH_SIZES=100x0,1000x100 cargo bench -p tailgrant-oracle --bench filter
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs,
    reason = "benchmark code"
)]

#[path = "../../benches/common/median.rs"]
mod median;
#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use median::median;
use std::hint::black_box;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use support::{ts_rules, NodeFilter, Question, TCP};
use tailgrant::engine::compile::compile_filters;
use tailgrant::engine::table::{DecisionTable, Dest, Query};
use tailgrant::model::tailnet::Tailnet;
use tailgrant::validate::{validate_text, Options};

const GROUPS: usize = 100;

fn addr(i: usize) -> IpAddr {
    IpAddr::from([100, 64 + ((i >> 16) % 50) as u8, (i >> 8) as u8, i as u8])
}

fn tailnet(n: usize) -> Tailnet {
    let nodes: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#""n{i}": {{"ipv4": "{}", "tags": ["tag:g{}"]}}"#,
                addr(i),
                i % GROUPS
            )
        })
        .collect();
    Tailnet::from_text(&format!(
        r#"{{"users": [], "nodes": {{{}}}}}"#,
        nodes.join(",")
    ))
    .unwrap()
}

fn dst_group(i: usize) -> usize {
    i % GROUPS
}

fn src_group(i: usize) -> usize {
    (i / GROUPS) % GROUPS
}

fn policy(g: usize) -> String {
    let grants: Vec<String> = (0..g)
        .map(|i| {
            format!(
                r#"{{"src": ["tag:g{}"], "dst": ["tag:g{}"], "ip": ["tcp:{}"]}}"#,
                src_group(i),
                dst_group(i),
                1000 + i
            )
        })
        .collect();
    let owners: Vec<String> = (0..GROUPS).map(|i| format!(r#""tag:g{i}": []"#)).collect();
    format!(
        r#"{{"grants": [{}], "tagOwners": {{{}}}}}"#,
        grants.join(","),
        owners.join(",")
    )
}

/// `(nodes, grants)` pairs, from `ORACLE_BENCH_SIZES` (`NxG,...`) or the default.
fn sizes() -> Vec<(usize, usize)> {
    let default = "100x0,1000x0,100x10,1000x100,1000x1000,10000x10000";
    std::env::var("ORACLE_BENCH_SIZES")
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .filter_map(|s| {
            let (n, g) = s.trim().split_once('x')?;
            Some((n.parse().ok()?, g.parse().ok()?))
        })
        .collect()
}

fn ns(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}

/// One size: the table, tailscale-rs's filter of the destination node, and the questions.
struct Setup {
    table: DecisionTable,
    filter: NodeFilter,
    allowed: Option<Question>,
    denied: Question,
    /// Time of `DecisionTable::build`.
    build: Duration,
}

fn setup(n: usize, g: usize) -> Setup {
    let tailnet = tailnet(n);
    let policy = validate_text(&policy(g), &Options::default())
        .into_validated()
        .unwrap();
    let start = Instant::now();
    let table = DecisionTable::build(&policy, &tailnet);
    let build = start.elapsed();
    let compiled = compile_filters(&policy, &tailnet);
    // The destination: node 3 (group 3).
    let dst_name = "n3";
    let wire = serde_json::to_string(&compiled.nodes[dst_name].packet_filter_rules).unwrap();
    let filter = NodeFilter::new(ts_rules(&wire).unwrap());
    let dst = addr(3);
    // The last grant to group 3: the rule the filters meet last, if they scan.
    let allowed = (0..g).rev().find(|i| dst_group(*i) == 3).map(|i| Question {
        src: addr(src_group(i)),
        dst,
        proto: TCP,
        port: u16::try_from(1000 + i).unwrap(),
    });
    let denied = Question {
        src: addr(0),
        dst,
        proto: TCP,
        port: 999,
    };
    for (q, want) in allowed.iter().map(|q| (q, true)).chain([(&denied, false)]) {
        assert_eq!(q.table_allows(&table), want, "{q:?}");
        assert_eq!(filter.tailscale_rs_bart(q), want, "{q:?}");
        assert_eq!(filter.tailscale_rs(q), want, "{q:?}");
    }
    Setup {
        table,
        filter,
        allowed,
        denied,
        build,
    }
}

fn filter(c: &mut Criterion) {
    println!(
        "{:>14} {:>9} {:>6} {:>12} {:>12} {:>7} {:>12} {:>12} {:>7}",
        "nodes x grants",
        "build ms",
        "rules",
        "table allow",
        "ts-rs allow",
        "ratio",
        "table deny",
        "ts-rs deny",
        "ratio"
    );
    for (n, g) in sizes() {
        let s = setup(n, g);
        let table_q = |q: Question| {
            move |t: &DecisionTable| {
                t.decide(&Query {
                    src: black_box(q.src),
                    dst: Dest::Addr(black_box(q.dst)),
                })
                .allows(q.proto, black_box(q.port))
            }
        };
        let ts_q = |q: Question| move |f: &NodeFilter| f.tailscale_rs_bart(black_box(&q));
        let allow = s.allowed.map(|q| {
            let (tq, fq) = (table_q(q), ts_q(q));
            (median(|| tq(&s.table)), median(|| fq(&s.filter)))
        });
        let (tq, fq) = (table_q(s.denied), ts_q(s.denied));
        let deny = (median(|| tq(&s.table)), median(|| fq(&s.filter)));
        let cell = |p: Option<(Duration, Duration)>| match p {
            Some((t, f)) => format!(
                "{:>12.1} {:>12.1} {:>7.2}",
                ns(t),
                ns(f),
                ns(t) / ns(f).max(f64::MIN_POSITIVE)
            ),
            None => format!("{:>12} {:>12} {:>7}", "-", "-", "-"),
        };
        println!(
            "{:>14} {:>9.1} {:>6} {} {}",
            format!("{n}x{g}"),
            s.build.as_secs_f64() * 1e3,
            s.filter.rules.len(),
            cell(allow),
            cell(Some(deny))
        );

        let mut group = c.benchmark_group(format!("nodes{n}_grants{g}"));
        group
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        if let Some(q) = s.allowed {
            let tq = table_q(q);
            group.bench_function("table_allowed", |b| b.iter(|| tq(&s.table)));
            let fq = ts_q(q);
            group.bench_function("tailscale_rs_allowed", |b| b.iter(|| fq(&s.filter)));
        }
        let tq = table_q(s.denied);
        group.bench_function("table_denied", |b| b.iter(|| tq(&s.table)));
        let fq = ts_q(s.denied);
        group.bench_function("tailscale_rs_denied", |b| b.iter(|| fq(&s.filter)));
        group.finish();
    }
}

criterion_group!(benches, filter);
criterion_main!(benches);
