//! Which SSH sources may reach which SSH destinations.
//!
//! Tailscale lets nobody open an SSH session on a user's device but that same user
//! ("Tailscale policy file syntax", kb/1337/policy-syntax, `ssh` `dst`: "a tag,
//! autogroup:self (if the source contains only users or groups), or a single named user (if
//! the source contains only the same named user)"). So:
//!
//! - a user destination accepts only that same user as the whole source: tags,
//!   `autogroup:tagged`, groups, `autogroup:member`, role autogroups, `user:*@domain` and
//!   other users are rejected. The control plane's message is quoted in
//!   juanfont/headscale#3010 ("users in dst are only allowed from the same user"), for a
//!   tag source;
//! - `autogroup:self` and `autogroup:member` (user-owned devices) refuse tagged sources.
//!   Tailscale's messages for these are not public; the messages are Headscale's
//!   (hscontrol/policy/v2/types.go, `ErrSSHAutogroupSelfRequiresUserSource` and
//!   `ErrSSHTagSourceToAutogroupMember`), which follows the same rules;
//! - a `check` rule needs a person to re-authenticate, which a tagged device has not:
//!   `"check" action does not support tags in src` (tailscale/tailscale#5027).
//!
//! Unknown autogroups and malformed sources are reported where they stand and not again here.

use super::selectors::is_known_autogroup;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::policy::{Sel, SshRule};
use crate::model::selector::Alias;
use crate::model::Dialect;

/// What a source is, for these rules.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// One user, by login.
    User(String),
    /// A set of users: a group, `autogroup:member`, a role autogroup, `user:*@domain`.
    Users,
    /// Tagged devices: a tag or `autogroup:tagged`.
    Tagged,
    /// Reported elsewhere (unknown autogroup, an address, ...).
    Other,
}

fn classify(alias: &Alias) -> Source {
    match alias {
        Alias::User(u) => Source::User(u.clone()),
        Alias::Tag(_) => Source::Tagged,
        Alias::Autogroup(a) if a == "autogroup:tagged" => Source::Tagged,
        Alias::Autogroup(a) if a == "autogroup:self" || !is_known_autogroup(a) => Source::Other,
        Alias::Group(_) | Alias::UserDomain(_) | Alias::Autogroup(_) => Source::Users,
        _ => Source::Other,
    }
}

/// The destinations of one rule, as these rules look at them, computed once so that a rule
/// costs the sum, not the product, of its source and destination counts.
#[derive(Debug, Default)]
struct Destinations {
    /// Two distinct user destinations at most: enough to find one a user source is not.
    users: Vec<String>,
    has_self: bool,
    has_member: bool,
}

impl Destinations {
    fn of(dst: &[Sel]) -> Self {
        let mut d = Self::default();
        for s in dst {
            match s.alias() {
                Alias::User(u) if d.users.len() < 2 && !d.users.contains(u) => {
                    d.users.push(u.clone());
                }
                Alias::Autogroup(a) if a == "autogroup:self" => d.has_self = true,
                Alias::Autogroup(a) if a == "autogroup:member" => d.has_member = true,
                _ => {}
            }
        }
        d
    }

    /// A user destination other than `kind` itself, if any.
    fn other_user(&self, kind: &Source) -> Option<&str> {
        self.users
            .iter()
            .find(|u| *kind != Source::User((*u).clone()))
            .map(String::as_str)
    }
}

/// Reports each source the rule's destinations or action do not admit, once per source.
pub(super) fn check(rule: &SshRule, dialect: Dialect, out: &mut Vec<Diagnostic>) {
    let is_check = rule.action.as_ref().is_some_and(|a| a.trim() == "check");
    let dst = Destinations::of(&rule.dst);
    for s in &rule.src {
        if let Some(problem) = problem(s, &classify(s.alias()), &dst, is_check, dialect) {
            out.push(problem);
        }
    }
}

/// The first thing wrong with source `s` in its rule, if any.
fn problem(
    s: &Sel,
    kind: &Source,
    dst: &Destinations,
    is_check: bool,
    dialect: Dialect,
) -> Option<Diagnostic> {
    if *kind == Source::Other {
        return None;
    }
    let src = s.trim();
    if let Some(owner) = dst.other_user(kind) {
        return Some(user_destination(src, owner, kind, s, dialect));
    }
    if *kind == Source::Tagged && dst.has_self {
        return Some(
            Diagnostic::error(
                codes::SSH_SOURCE_NOT_ALLOWED,
                "autogroup:self destination requires source to contain only users or groups, not tags or autogroup:tagged",
                s.span,
            )
            .with_label(format!("`{src}` cannot reach autogroup:self"))
            .with_help("autogroup:self is each user's own devices: give the tagged sources their own rule towards tags"),
        );
    }
    if *kind == Source::Tagged && dst.has_member {
        return Some(
            Diagnostic::error(
                codes::SSH_SOURCE_NOT_ALLOWED,
                "tags in SSH source cannot access autogroup:member (user-owned devices)",
                s.span,
            )
            .with_label(format!("`{src}` cannot open sessions on user-owned devices"))
            .with_help("tagged devices may SSH only into tagged devices: use tags or autogroup:tagged as the destination"),
        );
    }
    (is_check && *kind == Source::Tagged).then(|| {
        Diagnostic::error(
            codes::SSH_SOURCE_NOT_ALLOWED,
            "\"check\" action does not support tags in src",
            s.span,
        )
        .with_label(format!("`{src}` has no user to re-authenticate"))
        .with_help("use \"action\": \"accept\" for tagged sources, in a rule of their own")
    })
}

fn user_destination(
    src: &str,
    owner: &str,
    kind: &Source,
    s: &Sel,
    dialect: Dialect,
) -> Diagnostic {
    let help = match kind {
        Source::Tagged => "tagged devices may SSH only into tagged devices: use tags or autogroup:tagged as the destination".to_string(),
        Source::User(_) | Source::Users | Source::Other => format!(
            "only `{owner}` may open SSH sessions on `{owner}`'s devices, from a rule whose src is just `{owner}`; for each user's own devices use autogroup:self"
        ),
    };
    let message = match (dialect, kind) {
        (Dialect::Tailscale, _) => "users in dst are only allowed from the same user".to_string(),
        // hscontrol/policy/v2/types.go, `validateSSHSrcDstCombination`:
        // `ErrSSHTagSourceToUserDest` and `ErrSSHUserDestRequiresSameUser`.
        (Dialect::Headscale, Source::Tagged) => format!(
            "tags in SSH source cannot access user-owned devices ({owner}); use autogroup:tagged or specific tags as destinations instead"
        ),
        (Dialect::Headscale, _) => format!(
            "user destination requires source to contain only that same user {owner:?}; use autogroup:self instead for same-user SSH access"
        ),
    };
    Diagnostic::error(codes::SSH_SOURCE_NOT_ALLOWED, message, s.span)
        .with_label(format!(
            "`{src}` cannot open sessions on `{owner}`'s devices"
        ))
        .with_help(help)
}

#[cfg(test)]
mod tests {
    use crate::codes::{self, Code};
    use crate::validate::{check_text, Options};

    fn codes_and_messages(ssh: &str) -> Vec<(String, String)> {
        let text = format!(
            r#"{{"groups": {{"group:ops": ["alice@example.com"]}},
                "tagOwners": {{"tag:ci": ["autogroup:admin"], "tag:web": ["autogroup:admin"]}},
                "ssh": [{ssh}]}}"#
        );
        check_text(&text, &Options::default())
            .findings
            .all()
            .filter(|d| d.code == codes::SSH_SOURCE_NOT_ALLOWED)
            .map(|d| {
                (
                    text[d.span.start..d.span.end].to_string(),
                    d.message.clone(),
                )
            })
            .collect()
    }

    const SAME_USER: &str = "users in dst are only allowed from the same user";

    #[test]
    fn tag_source_towards_a_user_is_rejected() {
        let found = codes_and_messages(
            r#"{"action": "accept", "src": ["tag:ci"], "dst": ["alice@example.com"], "users": ["root"]}"#,
        );
        assert_eq!(found, [("\"tag:ci\"".into(), SAME_USER.into())]);
    }

    #[test]
    fn group_and_member_sources_towards_a_user_are_rejected() {
        let found = codes_and_messages(
            r#"{"action": "accept", "src": ["group:ops", "autogroup:member", "autogroup:admin", "user:*@example.com"],
                "dst": ["alice@example.com"], "users": ["root"]}"#,
        );
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found.iter().all(|(_, m)| m == SAME_USER));
    }

    #[test]
    fn another_user_beside_the_owner_is_rejected_but_not_the_owner() {
        let found = codes_and_messages(
            r#"{"action": "accept", "src": ["alice@example.com", "bob@example.com"],
                "dst": ["alice@example.com"], "users": ["root"]}"#,
        );
        assert_eq!(found, [("\"bob@example.com\"".into(), SAME_USER.into())]);
    }

    #[test]
    fn two_user_destinations_reject_even_one_of_the_owners() {
        let found = codes_and_messages(
            r#"{"action": "accept", "src": ["alice@example.com"],
                "dst": ["alice@example.com", "bob@example.com"], "users": ["root"]}"#,
        );
        assert_eq!(found, [("\"alice@example.com\"".into(), SAME_USER.into())]);
    }

    #[test]
    fn the_same_user_towards_themselves_is_accepted() {
        // Conformance ssh-c3: the control plane accepts it.
        let found = codes_and_messages(
            r#"{"action": "accept", "src": ["alice@example.com"], "dst": ["alice@example.com"], "users": ["root"]}"#,
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn tagged_sources_towards_autogroup_self_or_member_are_rejected() {
        let found = codes_and_messages(
            r#"{"action": "accept", "src": ["tag:ci", "autogroup:tagged", "autogroup:member"],
                "dst": ["autogroup:self", "tag:web"], "users": ["root"]},
               {"action": "accept", "src": ["tag:ci"], "dst": ["autogroup:member"], "users": ["root"]}"#,
        );
        let messages: Vec<&str> = found.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(
            messages,
            [
                "autogroup:self destination requires source to contain only users or groups, not tags or autogroup:tagged",
                "autogroup:self destination requires source to contain only users or groups, not tags or autogroup:tagged",
                "tags in SSH source cannot access autogroup:member (user-owned devices)",
            ]
        );
    }

    #[test]
    fn tags_towards_tags_and_people_towards_anything_allowed_are_accepted() {
        // Conformance ssh-b3 (tag to tag), ssh-b6 (autogroup:tagged to tag), ssh-a1
        // (autogroup:member to autogroup:self), ssh-c4.
        let found = codes_and_messages(
            r#"{"action": "accept", "src": ["tag:ci", "autogroup:tagged"], "dst": ["tag:web", "autogroup:tagged"], "users": ["root"]},
               {"action": "check", "src": ["autogroup:member", "group:ops"], "dst": ["autogroup:self", "autogroup:member", "tag:web"], "users": ["root"]}"#,
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn check_rules_refuse_tag_sources() {
        let found = codes_and_messages(
            r#"{"action": "check", "src": ["tag:ci", "alice@example.com"], "dst": ["tag:web"], "users": ["root"]}"#,
        );
        assert_eq!(
            found,
            [(
                "\"tag:ci\"".into(),
                "\"check\" action does not support tags in src".into()
            )]
        );
    }

    #[test]
    fn an_unknown_autogroup_source_is_one_finding_not_two() {
        let text = r#"{"ssh": [{"action": "accept", "src": ["autogroup:memebrs"],
            "dst": ["autogroup:self"], "users": ["root"]}]}"#;
        let report = check_text(text, &Options::default());
        let found: Vec<&Code> = report.findings.all().map(|d| d.code).collect();
        assert_eq!(found, [codes::AUTOGROUP_NOT_ALLOWED]);
        assert_eq!(report.findings.errors[0].label, "unknown autogroup");
        assert_eq!(
            report.findings.errors[0].help.as_deref(),
            Some("did you mean `autogroup:member`?")
        );
    }
}
