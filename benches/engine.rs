//! Compile time, table size and query latency on generated tailnets.
//!
//! `cargo bench --bench engine` (set `TG_BENCH_NODES=1000,10000,100000` and
//! `TG_BENCH_GRANTS=100,1000,10000` to choose the sizes).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::net::IpAddr;
use tailgrant::policy::parse_policy;
use tailgrant::table::DecisionTable;
use tailgrant::tailnet::Tailnet;

fn sizes(var: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(var)
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

fn addr(i: usize) -> String {
    format!("100.{}.{}.{}", 64 + (i >> 16) % 50, (i >> 8) & 255, i & 255)
}

/// A tailnet of `n` nodes: a tenth are relays, the rest in 100 tag groups.
fn tailnet(n: usize) -> Tailnet {
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let tag = if i % 10 == 0 {
            "tag:relay".to_string()
        } else {
            format!("tag:g{}", i % 100)
        };
        nodes.push(format!(
            r#""n{i}": {{"ipv4": "{}", "tags": ["{tag}"]}}"#,
            addr(i)
        ));
    }
    Tailnet::from_text(&format!(
        r#"{{"users": [], "nodes": {{{}}}}}"#,
        nodes.join(",")
    ))
    .unwrap()
}

/// `g` grants: relay grants from tag groups to relays, and port grants between groups.
fn policy(g: usize) -> String {
    let mut grants = Vec::with_capacity(g);
    for i in 0..g {
        if i % 2 == 0 {
            grants.push(format!(
                r#"{{"src": ["tag:g{}"], "dst": ["tag:relay"], "app": {{"tailscale.com/cap/relay": []}}}}"#,
                i % 100
            ));
        } else {
            grants.push(format!(
                r#"{{"src": ["tag:g{}"], "dst": ["tag:g{}"], "ip": ["tcp:{}"]}}"#,
                i % 100,
                (i / 100) % 100,
                1 + i % 60000
            ));
        }
    }
    let owners: Vec<String> = (0..100).map(|i| format!(r#""tag:g{i}": []"#)).collect();
    format!(
        r#"{{"grants": [{}], "tagOwners": {{"tag:relay": [], {}}}}}"#,
        grants.join(","),
        owners.join(",")
    )
}

fn engine(c: &mut Criterion) {
    for n in sizes("TG_BENCH_NODES", &[1000]) {
        let t = tailnet(n);
        for g in sizes("TG_BENCH_GRANTS", &[100, 1000]) {
            let text = policy(g);
            let (p, _) = parse_policy(&text).unwrap();
            let mut group = c.benchmark_group(format!("nodes{n}_grants{g}"));
            group.sample_size(10);
            group.bench_function("compile_table", |b| {
                b.iter(|| DecisionTable::build(black_box(&p), &t))
            });
            let table = DecisionTable::build(&p, &t);
            println!(
                "nodes {n} grants {g}: table {} bytes",
                table.to_bytes().len()
            );
            let relay = table.node("n0").unwrap();
            let req = table.node("n1").unwrap();
            group.sample_size(100);
            group.bench_function("may_allocate", |b| {
                b.iter(|| table.may_allocate(black_box(req), black_box(relay)))
            });
            let src: IpAddr = addr(1).parse().unwrap();
            let dst = table.node("n3").unwrap();
            group.bench_function("allows", |b| {
                b.iter(|| table.allows(black_box(src), black_box(dst), 6, black_box(443)))
            });
            group.finish();
        }
    }
}

criterion_group!(benches, engine);
criterion_main!(benches);
