//! Validation: every rule by which Tailscale's control plane rejects a policy, with the
//! control plane's own message, and the lints on top.
//!
//! ```
//! let text = r#"{"grants": [{"src": ["tag:ci"], "dst": ["*"], "ip": ["*"]}]}"#;
//! let report = tailgrant::check::check_text(text, &tailgrant::check::Options::default());
//! assert_eq!(report.findings.errors[0].message, r#"src=tag not found: "tag:ci""#);
//! ```

mod definitions;
pub mod duration;
mod names;
mod rules;
mod selectors;
mod ssh;
pub mod suppress;

use crate::diagnostic::{Diagnostic, Findings};
use crate::policy::{self, Policy};
use crate::tailnet::Tailnet;

pub use names::Names;
pub use rules::GRANTABLE_TAILSCALE_CAPS;

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
            suppress::apply(text, &mut findings);
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
    if let Some(tailnet) = options.tailnet {
        evaluate_tests(policy, tailnet, &mut out);
    }
    out.extend(crate::lint::run(policy, &names, options));
    out
}

/// With a tailnet, `tests` and `sshTests` are evaluated as the control plane does. The
/// evaluation replaces the shape checks made without a tailnet (it finds the same malformed
/// entries and more); it runs only on an otherwise valid policy, as the control plane's does.
fn evaluate_tests(policy: &Policy, tailnet: &Tailnet, out: &mut Vec<Diagnostic>) {
    let otherwise_valid = out.iter().all(|d| !d.is_error() || d.code == TESTS_CODE);
    if !otherwise_valid {
        return;
    }
    out.retain(|d| d.code != TESTS_CODE);
    for f in crate::policytest::run_tests(policy, tailnet) {
        let span = f.element.unwrap_or(f.span);
        if out
            .iter()
            .any(|d| d.message == f.control_plane_message && d.span == span)
        {
            continue;
        }
        let message = if f.control_plane_message == crate::policytest::TESTS_FAILED {
            format!("{}: {}", f.control_plane_message, f.reason)
        } else {
            f.control_plane_message.clone()
        };
        out.push(
            Diagnostic::error(TESTS_CODE, message, span)
                .with_label("this test fails")
                .with_help("grant (or stop granting) the access in the policy, or correct the test; `tailgrant explain --src ... --dst ...` shows which rules decide it"),
        );
    }
}

/// The code of a failing or malformed test.
const TESTS_CODE: &str = "TG0401";
