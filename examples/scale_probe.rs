//! Times `DecisionTable::build` on the generated tailnets of `benches/engine.rs`, without
//! the query benchmarks (quicker than the bench when only the build time matters).
//!
//! ```text
//! TG_BENCH_NODES=100000 TG_BENCH_GRANTS=10000 cargo run --release --example scale_probe
//! ```

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::time::Instant;
use tailgrant::engine::table::DecisionTable;
use tailgrant::validate::{validate_text, Options};

#[path = "../benches/common/generated.rs"]
mod generated;

use generated::{policy, sizes, tailnet};

/// The policy `text`, validated by the checker (without a tailnet, without lints).
fn validated(text: &str) -> tailgrant::model::Validated {
    validate_text(text, &Options::default())
        .into_validated()
        .unwrap()
}

fn main() {
    println!(
        "{:>7} {:>6} {:>10} {:>11}",
        "nodes", "grants", "build ms", "table B"
    );
    for n in sizes("TG_BENCH_NODES", &[10000]) {
        let t = tailnet(n);
        for g in sizes("TG_BENCH_GRANTS", &[2000]) {
            let p = validated(&policy(g));
            let start = Instant::now();
            let table = DecisionTable::build(&p, &t);
            let ms = start.elapsed().as_secs_f64() * 1e3;
            println!("{n:>7} {g:>6} {ms:>10.0} {:>11}", table.to_bytes().len());
        }
    }
}
