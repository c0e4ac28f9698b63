//! The `tailgrant` command line.

mod cli;

/// mimalloc, for the many small allocations of a check (see `Cargo.toml`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
