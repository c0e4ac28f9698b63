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
mod dialect_hint;
pub mod lint;
mod options;
pub mod policy_tests;
pub mod suppress;

pub use options::Options;

use crate::codes;
use crate::diagnostic::{Diagnostic, Findings};
use crate::model::names::Names;
use crate::model::policy::{self, Policy};
use crate::model::validated::Validated;
use crate::model::Dialect;
use crate::syntax::hujson::Node;

/// The result of checking one policy text. Only the checker makes one, so a policy it found
/// valid can be handed on as a [`Validated`].
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The decoded policy (absent after a syntax error).
    policy: Option<Policy>,
    /// Errors and warnings.
    pub findings: Findings,
    /// Set by the checker: every error (if any) is one of the policy's own `tests` or
    /// `sshTests` failing, so its rules are valid.
    rules_valid: bool,
    /// The dialect whose rules the checker applied (`Options::dialect`).
    dialect: Dialect,
}

impl Report {
    fn new(policy: Option<Policy>, findings: Findings, dialect: Dialect) -> Self {
        let rules_valid = policy.is_some() && findings.errors.iter().all(is_test_failure);
        Self {
            policy,
            findings,
            rules_valid,
            dialect,
        }
    }

    /// The dialect whose rules the policy was checked by.
    pub const fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// True when Tailscale would accept the policy.
    pub fn is_valid(&self) -> bool {
        self.policy.is_some() && self.findings.errors.is_empty()
    }

    /// The decoded policy, valid or not (absent after a syntax error).
    pub const fn policy(&self) -> Option<&Policy> {
        self.policy.as_ref()
    }

    /// The decoded policy, valid or not.
    pub fn into_policy(self) -> Option<Policy> {
        self.policy
    }

    /// The policy as one Tailscale would accept, for the compiler, the decision table and
    /// the relay; the findings when it has an error.
    pub fn into_validated(self) -> Result<Validated, Findings> {
        match self.policy {
            Some(policy) if self.rules_valid && self.findings.errors.is_empty() => {
                Ok(Validated::new(policy, self.dialect))
            }
            _ => Err(self.findings),
        }
    }

    /// The policy whose rules are valid, even if its own `tests` or `sshTests` fail: what it
    /// grants is well defined, which is what `compile`, `explain` and `diff` answer; the
    /// findings when a rule has an error.
    pub fn into_validated_rules(self) -> Result<Validated, Findings> {
        match self.policy {
            Some(policy) if self.rules_valid => Ok(Validated::new(policy, self.dialect)),
            _ => Err(self.findings),
        }
    }
}

/// True for a finding of the policy's own `tests` or `sshTests` (an entry that fails or is
/// malformed): the rest of the policy is valid and means what it says.
pub fn is_test_failure(d: &Diagnostic) -> bool {
    d.code == codes::TEST_FAILED || d.code == codes::INVALID_SSH_TEST_DESTINATION
}

/// Parses and checks a policy text: every error Tailscale would report, and the lints.
pub fn check_text(text: &str, options: &Options<'_>) -> Report {
    report(text, options, check).0
}

/// [`check_text`], handing back also the decoded tree (its strings moved into the policy),
/// for a caller that answers first and frees later: the language server publishes the
/// findings before it frees the tree and the policy.
pub(crate) fn check_text_keeping_tree(text: &str, options: &Options<'_>) -> (Report, Option<Node>) {
    report(text, options, check)
}

/// Parses and checks a policy text for what decides its validity only: the errors Tailscale
/// would report, without the lints (which never make a policy invalid). For a caller that
/// only needs the verdict, such as the relay's reload; the decoded policy and every error
/// are the same as [`check_text`]'s.
pub fn validate_text(text: &str, options: &Options<'_>) -> Report {
    report(text, options, errors).0
}

/// Parses `text` and collects what `findings_of` finds in the decoded policy.
fn report(
    text: &str,
    options: &Options<'_>,
    findings_of: fn(&Policy, &Options<'_>) -> Vec<Diagnostic>,
) -> (Report, Option<Node>) {
    let mut findings = Findings::default();
    match policy::parse_policy_keeping_tree(text, options.dialect) {
        Err(syntax) => {
            findings.push(syntax);
            (Report::new(None, findings, options.dialect), None)
        }
        Ok((policy, decode, tree)) => {
            let mut all = findings_of(&policy, options);
            all.splice(0..0, decode);
            let mut findings = Findings::from_vec(all);
            suppress::apply(text, &mut findings);
            if options.dialect == Dialect::Tailscale {
                dialect_hint::suggest_headscale(text, &mut findings);
            }
            (
                Report::new(Some(policy), findings, options.dialect),
                Some(tree),
            )
        }
    }
}

/// Checks a decoded policy: every error Tailscale would report, and the lints.
pub(crate) fn check(policy: &Policy, options: &Options<'_>) -> Vec<Diagnostic> {
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
    policy_tests::check(policy, names, options, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::{check_text, Options};
    use crate::codes;
    use crate::model::tailnet::Tailnet;

    #[test]
    fn an_invalid_policy_gives_no_validated_policy_even_with_its_errors_cleared() {
        let mut report = check_text(r#"{"grants": [{"src": ["tag:x"]}]}"#, &Options::default());
        assert!(!report.is_valid());
        report.findings.errors.clear();
        assert!(report.clone().into_validated().is_err());
        assert!(report.into_validated_rules().is_err());
        let syntax = check_text("{", &Options::default());
        assert!(syntax.into_validated_rules().is_err());
    }

    #[test]
    fn failing_tests_leave_the_rules_validated_but_not_the_policy() {
        let tailnet = Tailnet::from_text(
            r#"{"users": [{"id": 1, "name": "a", "email": "a@example.com"}],
                "nodes": {"n": {"ipv4": "100.64.0.1", "ipv6": "fd7a:115c:a1e0::1", "user": "a"}}}"#,
        )
        .unwrap();
        let options = Options {
            tailnet: Some(&tailnet),
            ..Default::default()
        };
        let text = r#"{"grants": [{"src": ["*"], "dst": ["*"], "ip": ["tcp:22"]}],
            "tests": [{"src": "a@example.com", "deny": ["100.64.0.1:22"]}]}"#;
        let report = check_text(text, &options);
        assert_eq!(report.findings.errors[0].code, codes::TEST_FAILED);
        assert!(report.clone().into_validated().is_err());
        let rules = report.into_validated_rules().unwrap();
        assert_eq!(rules.grants.len(), 1);
        let passing = text.replace("deny", "accept");
        assert!(check_text(&passing, &options).into_validated().is_ok());
    }
}
