//! Lints: findings Tailscale accepts but that are likely mistakes. Each rule is one module
//! whose doc comment is its documentation; [`RULES`] is the registry.

use crate::check::{Names, Options};
use crate::diagnostic::Diagnostic;
use crate::policy::Policy;

/// A lint rule.
pub struct Rule {
    /// Stable code, `TG1xxx`.
    pub code: &'static str,
    /// Short name.
    pub name: &'static str,
    /// One line on what it finds.
    pub summary: &'static str,
    /// The check itself.
    pub run: fn(&Policy, &Names<'_>, &Options<'_>, &mut Vec<Diagnostic>),
}

/// Every lint rule.
pub const RULES: &[Rule] = &[];

/// Runs every lint.
pub fn run(policy: &Policy, names: &Names<'_>, options: &Options<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rule in RULES {
        (rule.run)(policy, names, options, &mut out);
    }
    out
}
