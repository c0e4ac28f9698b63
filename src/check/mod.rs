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
mod ssh_pairs;
pub mod suppress;

use crate::diagnostic::{Diagnostic, Findings};
use crate::policy::{self, Policy};
use crate::tailnet::Tailnet;

pub use names::Names;
pub(crate) use rules::{reserved_cap_help, tailscale_cap, TailscaleCap};
pub use rules::{GRANTABLE_TAILSCALE_CAPS, REJECTED_TAILSCALE_CAPS};

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
    report(text, options, check)
}

/// Parses and checks a policy text for what decides its validity only: the errors Tailscale
/// would report, without the lints (which never make a policy invalid). For a caller that
/// only needs the verdict, such as the relay's reload; the decoded policy and every error
/// are the same as [`check_text`]'s.
pub fn validate_text(text: &str, options: &Options<'_>) -> Report {
    report(text, options, errors)
}

/// Parses `text` and collects what `findings` finds in the decoded policy.
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
    let errors = rule_findings(policy, &names, options);
    // The lints may be many (one per unused name): keep their list and put the few errors
    // before them, rather than hold a copy of it.
    let mut lints = crate::lint::run(policy, &names, options);
    lints.splice(0..0, errors);
    lints
}

/// What [`check`] finds without the lints.
fn errors(policy: &Policy, options: &Options<'_>) -> Vec<Diagnostic> {
    rule_findings(policy, &Names::new(policy), options)
}

/// The rules by which Tailscale rejects a policy, and its `tests`.
fn rule_findings(policy: &Policy, names: &Names<'_>, options: &Options<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    rules::check(policy, names, options, &mut out);
    ssh::check(policy, names, options, &mut out);
    if let Some(tailnet) = options.tailnet {
        evaluate_tests(policy, tailnet, &mut out);
    }
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

#[cfg(test)]
mod tests {
    use super::{check_text, Options};

    fn findings(text: &str) -> Vec<(&'static str, String, Option<String>)> {
        check_text(text, &Options::default())
            .findings
            .all()
            .map(|d| (d.code, d.message.clone(), d.help.clone()))
            .collect()
    }

    #[test]
    fn empty_proto_is_every_protocol_not_an_unknown_protocol() {
        // Go's decoder reads `"proto": ""` as the zero value; Headscale's
        // `Protocol.validate` accepts "" (hscontrol/policy/v2/types.go).
        let text = r#"{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:443"], "proto": ""}],
            "tests": [{"src": "a@example.com", "accept": ["100.64.0.1:443"], "proto": ""}]}"#;
        assert_eq!(findings(text), []);
        let bad =
            r#"{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:443"], "proto": "tcpp"}]}"#;
        assert_eq!(findings(bad)[0].0, "TG0214");
    }

    #[test]
    fn ssh_users_the_control_plane_keeps_verbatim_are_not_rejected() {
        // Each of these was accepted by the control plane and pushed as an `sshUsers` key
        // (conformance ssh-unicode-emoji-user, ssh-malformed-user-tag-prefix,
        // -autogroup-member, -autogroup-internet, -localpart-no-at, -localpart-no-glob,
        // -whitespace-leading): only "" and "*" are rejected.
        for user in [
            "🚀",
            "tag:foo",
            "autogroup:member",
            "autogroup:internet",
            "autogroup:self",
            "localpart:foo",
            "localpart:foo@example.com",
            " root",
        ] {
            let text = format!(
                r#"{{"tagOwners": {{"tag:server": ["autogroup:admin"]}},
                    "ssh": [{{"action": "accept", "src": ["autogroup:member"], "dst": ["tag:server"], "users": [{user:?}]}}]}}"#
            );
            assert_eq!(findings(&text), [], "{user:?}");
        }
        let text = r#"{"tagOwners": {"tag:server": ["autogroup:admin"]},
            "ssh": [{"action": "accept", "src": ["autogroup:member"], "dst": ["tag:server"], "users": ["root", "*"]}]}"#;
        assert_eq!(findings(text)[0].1, r#"user "*" is not valid"#);
    }

    #[test]
    fn capabilities_tailscale_tells_users_to_grant_are_accepted() {
        // tailscale/golink README.md and tailscale/tailsql authorizer/aclgrant.go.
        for cap in ["tailscale.com/cap/golink", "tailscale.com/cap/tailsql"] {
            let text = format!(
                r#"{{"grants": [{{"src": ["autogroup:member"], "dst": ["autogroup:member"], "app": {{"{cap}": [{{"admin": true}}]}}}}]}}"#
            );
            assert_eq!(findings(&text), [], "{cap}");
        }
    }

    #[test]
    fn undefined_names_suggest_the_defined_one() {
        let text = r#"{"groups": {"group:ops": ["a@example.com"]},
            "tagOwners": {"tag:web": ["group:ops"]},
            "ipsets": {"ipset:lan": ["10.0.0.0/8"]},
            "postures": {"posture:latest": ["node:tsReleaseTrack == 'stable'"]},
            "hosts": {"db": "10.0.0.5"},
            "grants": [{"src": ["group:op", "ipset:lam"], "dst": ["tag:webb", "dbb", "autogroup:membr"],
                        "ip": ["*"], "srcPosture": ["posture:lates"]}]}"#;
        let helps: Vec<String> = findings(text)
            .into_iter()
            .filter(|(code, _, _)| code.starts_with("TG02"))
            .map(|(_, _, help)| help.unwrap_or_default())
            .collect();
        for near in [
            "group:ops",
            "ipset:lan",
            "tag:web",
            "db",
            "autogroup:member",
            "posture:latest",
        ] {
            assert!(
                helps.iter().any(|h| h.starts_with("did you mean")
                    && h.contains(&format!("{near}`"))
                    || h.contains(&format!("\"{near}\"?"))),
                "no suggestion of {near} in {helps:?}"
            );
        }
    }

    #[test]
    fn every_did_you_mean_carries_the_suggestion_an_editor_applies() {
        let text = r#"{"groups": {"group:ops": ["a@example.com"]},
            "tagOwners": {"tag:web": ["group:ops"]},
            "hosts": {"db": "10.0.0.5"},
            "grants": [{"src": ["group:op"], "dst": ["tag:webb", "dbb", "autogroup:membr"],
                        "ipp": ["*"], "ip": ["*"]}]}"#;
        let report = check_text(text, &Options::default());
        let suggesting: Vec<_> = report
            .findings
            .all()
            .filter(|d| {
                d.help
                    .as_deref()
                    .is_some_and(|h| h.starts_with("did you mean"))
            })
            .collect();
        assert_eq!(suggesting.len(), 5, "{suggesting:#?}");
        for d in suggesting {
            let s = d.suggestion.as_deref();
            let s = s.unwrap_or_else(|| panic!("no suggestion on {d:?}"));
            assert!(text[d.span.start..d.span.end].contains(&s.wrong), "{d:?}");
            assert!(
                d.help.as_deref().is_some_and(|h| h.contains(&s.right)),
                "{d:?}"
            );
        }
    }

    #[test]
    fn an_unknown_autogroup_beside_autogroup_self_is_one_finding() {
        let text = r#"{"acls": [{"action": "accept", "src": ["autogroup:memebrs"], "dst": ["autogroup:self:*"]}]}"#;
        let found = findings(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].1, r#"unknown autogroup "autogroup:memebrs""#);
    }

    #[test]
    fn the_old_name_autogroup_members_is_autogroup_member() {
        let old = r#"{"acls": [{"action": "accept", "src": ["autogroup:members"], "dst": ["autogroup:self:*"]}],
            "ssh": [{"action": "accept", "src": ["autogroup:members"], "dst": ["autogroup:self"], "users": ["root"]}]}"#;
        assert!(findings(old).is_empty(), "{:?}", findings(old));
        let tagged = r#"{"tagOwners": {"tag:ci": []},
            "ssh": [{"action": "accept", "src": ["tag:ci"], "dst": ["autogroup:members"], "users": ["root"]}]}"#;
        let new = tagged.replace("autogroup:members", "autogroup:member");
        let codes = |t: &str| findings(t).into_iter().map(|f| f.0).collect::<Vec<_>>();
        assert_eq!(codes(tagged), ["TG0308"]);
        assert_eq!(codes(tagged), codes(&new));
    }
}
