//! Times `DecisionTable::build` on the generated tailnets of `benches/engine.rs`, without
//! the query benchmarks (quicker than the bench when only the build time matters).
//!
//! ```text
//! TG_BENCH_NODES=100000 TG_BENCH_GRANTS=10000 cargo run --release --example scale_probe
//! ```

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::time::Instant;
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

fn tag_of(i: usize) -> String {
    if i % 10 == 0 {
        "tag:relay".to_string()
    } else {
        format!("tag:g{}", i % 100)
    }
}

fn tailnet(n: usize) -> Tailnet {
    let nodes: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#""n{i}": {{"ipv4": "{}", "tags": ["{}"]}}"#,
                addr(i),
                tag_of(i)
            )
        })
        .collect();
    Tailnet::from_text(&format!(
        r#"{{"users": [], "nodes": {{{}}}}}"#,
        nodes.join(",")
    ))
    .unwrap()
}

fn policy(g: usize) -> String {
    let grants: Vec<String> = (0..g)
        .map(|i| {
            if i % 2 == 0 {
                format!(
                    r#"{{"src": ["tag:g{}"], "dst": ["tag:relay"], "app": {{"tailscale.com/cap/relay": []}}}}"#,
                    i % 100
                )
            } else {
                format!(
                    r#"{{"src": ["tag:g{}"], "dst": ["tag:g{}"], "ip": ["tcp:{}"]}}"#,
                    i % 100,
                    (i / 100) % 100,
                    1 + i % 60000
                )
            }
        })
        .collect();
    let owners: Vec<String> = (0..100).map(|i| format!(r#""tag:g{i}": []"#)).collect();
    format!(
        r#"{{"grants": [{}], "tagOwners": {{"tag:relay": [], {}}}}}"#,
        grants.join(","),
        owners.join(",")
    )
}

fn main() {
    println!(
        "{:>7} {:>6} {:>10} {:>11}",
        "nodes", "grants", "build ms", "table B"
    );
    for n in sizes("TG_BENCH_NODES", &[10000]) {
        let t = tailnet(n);
        for g in sizes("TG_BENCH_GRANTS", &[2000]) {
            let (p, _) = parse_policy(&policy(g)).unwrap();
            let start = Instant::now();
            let table = DecisionTable::build(&p, &t);
            let ms = start.elapsed().as_secs_f64() * 1e3;
            println!("{n:>7} {g:>6} {ms:>10.0} {:>11}", table.to_bytes().len());
        }
    }
}
