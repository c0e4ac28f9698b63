//! Stage 3, the control plane's verdict: checking a policy text from end to end.
//!
//! [`check_text`] runs the stages in order, each in its own module, none of which knows the
//! others: parse and decode ([`crate::model::policy`]), the rules by which Tailscale rejects
//! a policy ([`check`](mod@check)), the shape of the policy's `tests` and `sshTests` and, with
//! a tailnet, their evaluation ([`policy_tests`]), the lints ([`lint`]), and last the
//! `// tailgrant-ignore` comments ([`suppress`]). Errors and warnings come back apart, in
//! [`Report::findings`].
//!
//! ```
//! use tailgrant::validate::{check_text, Options};
//!
//! let text = r#"{"grants": [{"src": ["tag:ci"], "dst": ["*"], "ip": ["*"]}]}"#;
//! let report = check_text(text, &Options::default());
//! assert!(!report.is_valid());
//! assert_eq!(report.findings.errors[0].message, r#"src=tag not found: "tag:ci""#);
//! ```

pub mod check;
pub mod lint;
mod options;
pub mod policy_tests;
pub mod suppress;

pub use options::Options;

use crate::diagnostic::{Diagnostic, Findings};
use crate::model::names::Names;
use crate::model::policy::{self, Policy};

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

/// Parses and checks a policy text: every error Tailscale would report, and the lints.
pub fn check_text(text: &str, options: &Options<'_>) -> Report {
    report(text, options, check)
}

/// Parses and checks a policy text for what decides its validity only: the errors Tailscale
/// would report, without the lints (which never make a policy invalid). For a caller that
/// only needs the verdict, such as the relay's reload; the decoded policy and every error
/// are the same as [`check_text`]'s.
pub fn validate_text(text: &str, options: &Options<'_>) -> Report {
    report(text, options, errors)
}

/// Parses `text` and collects what `findings_of` finds in the decoded policy.
fn report(
    text: &str,
    options: &Options<'_>,
    findings_of: fn(&Policy, &Options<'_>) -> Vec<Diagnostic>,
) -> Report {
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
            let mut all = findings_of(&policy, options);
            all.splice(0..0, decode);
            let mut findings = Findings::from_vec(all);
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
    let errors = verdict(policy, &names, options);
    // The lints may be many (one per unused name): keep their list and put the few errors
    // before them, rather than hold a copy of it.
    let mut lints = lint::run(policy, &names, options);
    lints.splice(0..0, errors);
    lints
}

/// What [`check`] finds without the lints.
fn errors(policy: &Policy, options: &Options<'_>) -> Vec<Diagnostic> {
    verdict(policy, &Names::new(policy), options)
}

/// The rules by which Tailscale rejects a policy, and its tests.
fn verdict(policy: &Policy, names: &Names<'_>, options: &Options<'_>) -> Vec<Diagnostic> {
    let mut out = check::errors(policy, names, options);
    policy_tests::check(policy, names, options.tailnet, &mut out);
    out
}
