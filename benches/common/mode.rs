//! Whether a benchmark binary is really benchmarking, shared by the benchmarks that print
//! their own tables.

/// True under `cargo bench`, which passes `--bench`; false when `cargo test` runs the target
/// (criterion then runs each benchmark once as a test), where nothing must be printed.
pub fn benchmarking() -> bool {
    std::env::args().any(|a| a == "--bench")
}
