//! Lints: findings Tailscale accepts but that are likely mistakes.

use crate::check::{Names, Options};
use crate::diagnostic::Diagnostic;
use crate::policy::Policy;

/// Runs every lint.
pub fn run(_policy: &Policy, _names: &Names<'_>, _options: &Options<'_>) -> Vec<Diagnostic> {
    Vec::new()
}
