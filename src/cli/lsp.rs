//! `tailgrant lsp`.

use super::{fail, Status};

/// Runs the language server on standard input and output.
pub fn run() -> Status {
    match tailgrant::lsp::run_stdio() {
        Ok(()) => Status::Clean,
        Err(e) => fail(&e.to_string()),
    }
}
