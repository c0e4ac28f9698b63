//! Validation: every rule by which Tailscale's control plane rejects a policy, with the
//! control plane's own message, and the lints on top.
//!
//! ```
//! let text = r#"{"grants": [{"src": ["tag:ci"], "dst": ["*"], "ip": ["*"]}]}"#;
//! let report = tailgrant::check::check_text(text, &tailgrant::check::Options::default());
//! assert_eq!(report.findings.errors[0].message, r#"src=tag not found: "tag:ci""#);
//! ```

pub mod duration;
mod names;
mod rules;
mod ssh;

use crate::diagnostic::{Diagnostic, Findings};
use crate::policy::{self, Policy};
use crate::tailnet::Tailnet;

pub use names::Names;

/// What a check needs beyond the policy itself.
#[derive(Debug, Clone, Default)]
pub struct Options<'a> {
    /// The tailnet the policy is for: its domain is checked in `user:*@domain`, and with it
    /// `tests` and `sshTests` are evaluated and node-aware lints run.
    pub tailnet: Option<&'a Tailnet>,
}

impl Options<'_> {
    /// The tailnet's e-mail domain, when known.
    pub fn domain(&self) -> Option<&str> {
        self.tailnet.and_then(Tailnet::domain)
    }
}

/// The result of checking one policy text.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The decoded policy (absent after a syntax error).
    pub policy: Option<Policy>,
    /// Errors and warnings.
    pub findings: Findings,
}

impl Report {
    /// True when Tailscale would accept the policy.
    pub fn is_valid(&self) -> bool {
        self.policy.is_some() && self.findings.errors.is_empty()
    }
}

/// Parses and checks a policy text.
pub fn check_text(text: &str, options: &Options<'_>) -> Report {
    let mut findings = Findings::default();
    match policy::parse_policy(text) {
        Err(syntax) => {
            findings.push(syntax);
            Report {
                policy: None,
                findings,
            }
        }
        Ok((policy, decode)) => {
            decode.into_iter().for_each(|d| findings.push(d));
            for d in check(&policy, options) {
                findings.push(d);
            }
            findings.sort();
            Report {
                policy: Some(policy),
                findings,
            }
        }
    }
}

/// Checks a decoded policy: every error Tailscale would report, and the lints.
pub fn check(policy: &Policy, options: &Options<'_>) -> Vec<Diagnostic> {
    let names = Names::new(policy);
    let mut out = Vec::new();
    rules::check(policy, &names, options, &mut out);
    ssh::check(policy, &names, options, &mut out);
    out.extend(crate::lint::run(policy, &names, options));
    out
}
