//! The rules by which Tailscale's control plane rejects a policy, each with the control
//! plane's own message: the definitions (groups, tags, hosts, ipsets, postures), acls,
//! grants, nodeAttrs and SSH rules. The policy's own tests are
//! [`crate::validate::policy_tests`].
//!
//! `errors` is one stage of [`crate::validate::check_text`], which parses the text first and
//! evaluates the tests, runs the lints and applies suppressions after it.

mod definitions;
pub mod duration;
mod headscale;
mod rules;
mod selectors;
mod ssh;
mod ssh_pairs;

use crate::diagnostic::Diagnostic;
use crate::model::names::Names;
use crate::model::policy::Policy;

pub(crate) use crate::validate::options::Options;

/// Every error by which Tailscale would reject the decoded `policy` for its definitions and
/// rules, in rule order.
pub(crate) fn errors(policy: &Policy, names: &Names<'_>, options: &Options<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    rules::check(policy, names, options, &mut out);
    ssh::check(policy, names, options, &mut out);
    if let (crate::model::Dialect::Headscale, Some(tailnet)) = (options.dialect, options.tailnet) {
        headscale::user_references(policy, tailnet, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::codes;
    use crate::validate::{check_text, Options};

    fn findings(text: &str) -> Vec<(&'static codes::Code, String, Option<String>)> {
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
        assert_eq!(findings(bad)[0].0, codes::UNKNOWN_PROTOCOL);
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
            .filter(|(code, _, _)| code.id.starts_with("TG02"))
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
        assert_eq!(codes(tagged), [codes::SSH_SOURCE_NOT_ALLOWED]);
        assert_eq!(codes(tagged), codes(&new));
    }
}
