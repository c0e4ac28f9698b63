//! The median time of a call, shared by the benchmarks that print their own tables
//! (`benches/engine.rs`, `benches/peers`, `oracle/benches/filter.rs`).

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Median time per call: 15 batches, each long enough to be measured.
pub fn median(mut f: impl FnMut() -> bool) -> Duration {
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
