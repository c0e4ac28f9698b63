//! What changed in effect between two policies, grouped by kind: network access and
//! capabilities, Tailscale SSH logins, node attributes, auto-approvers and tag owners. With a
//! tailnet, rules are compared per pair of nodes; without one, per pair of selectors as
//! written, with groups, hosts and ipsets expanded to what they hold. Device postures are
//! conditions on access: a condition removed or relaxed is access gained. A rewrite that
//! keeps the meaning (rules reordered, split, merged, renamed groups, reformatted) shows no
//! change.

mod access;
mod condition;
mod leaves;
mod sections;
mod ssh;

use crate::model::policy::Policy;
use crate::model::tailnet::Tailnet;
use crate::vocab::RELAY_CAP;
use leaves::Leaves;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The kind of a change, in the order the report shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Ports and capabilities of a source towards a destination.
    Network,
    /// Tailscale SSH logins of a source on a destination.
    Ssh,
    /// Attributes of a node (with a tailnet) or of a `nodeAttrs` target.
    NodeAttrs,
    /// Who may advertise a route, an exit node or a service without approval.
    AutoApprovers,
    /// Who may apply a tag.
    TagOwners,
}

impl Kind {
    /// The heading of this kind in a report.
    pub const fn title(self) -> &'static str {
        match self {
            Self::Network => "network and capabilities",
            Self::Ssh => "ssh",
            Self::NodeAttrs => "node attributes",
            Self::AutoApprovers => "auto approvers",
            Self::TagOwners => "tag owners",
        }
    }
}

/// One change: what was added, removed or changed for one subject (and object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What kind of access it is.
    pub kind: Kind,
    /// The source (network, ssh), the node or `nodeAttrs` target, the route, or the tag.
    pub subject: String,
    /// The destination (network, ssh).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Ports, capabilities, logins, attributes, approvers or owners now present.
    pub added: Vec<String>,
    /// Those no longer present.
    pub removed: Vec<String>,
    /// SSH logins still allowed, but in another way (`before -> after`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// True when the change takes access away: something removed, or an attribute added
    /// that turns a feature off (`disable-relay-server`...).
    pub(crate) removes_access: bool,
}

impl Change {
    /// True when something was removed (access lost).
    pub const fn removes(&self) -> bool {
        self.removes_access
    }

    /// True when it concerns peer relaying.
    pub(crate) fn touches_relay(&self) -> bool {
        self.added
            .iter()
            .chain(&self.removed)
            .any(|c| c.starts_with(RELAY_CAP) || c.starts_with("disable-relay-"))
    }
}

/// The whole difference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyDiff {
    /// Whether it was computed per node (with a tailnet) or per selector.
    pub per_node: bool,
    /// The changes by kind; within a kind relay changes first, then by subject and object.
    pub changes: Vec<Change>,
    /// Rules of the new policy that open access to `*` (a grant or ACL entry with `*` as
    /// source or destination, node attributes for every node) that the old policy did not
    /// have.
    pub widened_to_wildcard: Vec<String>,
}

impl PolicyDiff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.widened_to_wildcard.is_empty()
    }

    /// True when some access was taken away.
    pub fn removes_access(&self) -> bool {
        self.changes.iter().any(Change::removes)
    }
}

/// Everything one policy gives, in the form that is compared.
struct Effect {
    network: access::AccessMap,
    ssh: ssh::SshMap,
    node_attrs: sections::Items,
    auto_approvers: sections::Items,
    tag_owners: sections::Items,
}

fn effect(p: &Policy, tailnet: Option<&Tailnet>) -> Effect {
    let empty = Tailnet::default();
    let leaves = Leaves::new(p, &empty);
    let (network, ssh) = match tailnet {
        Some(t) => (access::node_access(p, t, &leaves), ssh::node_ssh(p, t)),
        None => (
            access::selector_access(p, &leaves),
            ssh::selector_ssh(p, &leaves),
        ),
    };
    Effect {
        network,
        ssh,
        node_attrs: sections::node_attrs(p, &leaves, tailnet),
        auto_approvers: sections::auto_approvers(p, &leaves),
        tag_owners: sections::tag_owners(p, &leaves),
    }
}

/// Pairs present on either side, each with its old and new value (default when absent).
fn paired<'m, K: Ord + Clone, V: Default>(
    old: &'m BTreeMap<K, V>,
    new: &'m BTreeMap<K, V>,
    none: &'m V,
) -> impl Iterator<Item = (K, &'m V, &'m V)> {
    let keys: BTreeSet<&K> = old.keys().chain(new.keys()).collect();
    keys.into_iter().map(move |k| {
        (
            k.clone(),
            old.get(k).unwrap_or(none),
            new.get(k).unwrap_or(none),
        )
    })
}

fn pair_change(
    kind: Kind,
    (src, dst): (String, String),
    (added, removed, changed): (Vec<String>, Vec<String>, Vec<String>),
) -> Option<Change> {
    if added.is_empty() && removed.is_empty() && changed.is_empty() {
        return None;
    }
    Some(Change {
        kind,
        removes_access: !removed.is_empty(),
        subject: src,
        object: Some(dst),
        added,
        removed,
        changed,
    })
}

fn item_changes(kind: Kind, old: &sections::Items, new: &sections::Items, out: &mut Vec<Change>) {
    let none = BTreeSet::new();
    for (subject, o, n) in paired(old, new, &none) {
        let added: Vec<String> = n.difference(o).cloned().collect();
        let removed: Vec<String> = o.difference(n).cloned().collect();
        if added.is_empty() && removed.is_empty() {
            continue;
        }
        let removes_access = if kind == Kind::NodeAttrs {
            added.iter().any(|a| sections::restricts(a))
                || removed.iter().any(|a| !sections::restricts(a))
        } else {
            !removed.is_empty()
        };
        let with_note = |list: Vec<String>| -> Vec<String> {
            list.into_iter()
                .map(|a| match (kind, sections::note(&a)) {
                    (Kind::NodeAttrs, Some(note)) => format!("{a} ({note})"),
                    _ => a,
                })
                .collect()
        };
        out.push(Change {
            kind,
            subject,
            object: None,
            added: with_note(added),
            removed: with_note(removed),
            changed: Vec::new(),
            removes_access,
        });
    }
}

/// The difference in effect between `old` and `new`, per node when a tailnet is given.
pub fn diff(old: &Policy, new: &Policy, tailnet: Option<&Tailnet>) -> PolicyDiff {
    let (a, b) = (effect(old, tailnet), effect(new, tailnet));
    let mut changes = Vec::new();
    let none = access::Access::default();
    for (pair, o, n) in paired(&a.network, &b.network, &none) {
        let (added, removed) = access::compare(o, n);
        changes.extend(pair_change(
            Kind::Network,
            pair,
            (added, removed, Vec::new()),
        ));
    }
    let none = ssh::Logins::default();
    for (pair, o, n) in paired(&a.ssh, &b.ssh, &none) {
        changes.extend(pair_change(Kind::Ssh, pair, ssh::compare(o, n)));
    }
    item_changes(Kind::NodeAttrs, &a.node_attrs, &b.node_attrs, &mut changes);
    item_changes(
        Kind::AutoApprovers,
        &a.auto_approvers,
        &b.auto_approvers,
        &mut changes,
    );
    item_changes(Kind::TagOwners, &a.tag_owners, &b.tag_owners, &mut changes);
    // Stable: by kind, relay changes first, then in the (sorted) order they were built.
    changes.sort_by_key(|c| (c.kind, !c.touches_relay()));
    PolicyDiff {
        per_node: tailnet.is_some(),
        changes,
        widened_to_wildcard: wildcard_rules(new)
            .difference(&wildcard_rules(old))
            .cloned()
            .collect(),
    }
}

/// The rules (as one-line descriptions) that have `*` as a source or destination.
fn wildcard_rules(p: &Policy) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for g in &p.grants {
        if g.src.iter().chain(&g.dst).any(|s| s.trim() == "*") {
            let ip: Vec<&str> = g.ip.iter().map(|s| s.trim()).collect();
            let app: Vec<&str> = g.app.iter().map(|(k, _)| k.as_str()).collect();
            out.insert(format!(
                "grant {:?} -> {:?} ip {ip:?} app {app:?}",
                names(&g.src),
                names(&g.dst)
            ));
        }
    }
    for a in &p.acls {
        if a.src.iter().any(|s| s.trim() == "*") || a.dst.iter().any(|d| d.trim().starts_with("*:"))
        {
            out.insert(format!("acl {:?} -> {:?}", names(&a.src), names(&a.dst)));
        }
    }
    for n in &p.node_attrs {
        if n.target.iter().any(|t| t.trim() == "*") {
            out.insert(format!(
                "nodeAttrs {:?} attr {:?}",
                names(&n.target),
                names(&n.attr)
            ));
        }
    }
    out
}

fn names<T: std::ops::Deref<Target = str>>(list: &[crate::span::Spanned<T>]) -> Vec<&str> {
    list.iter().map(|s| s.trim()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> Policy {
        crate::model::policy::parse_policy(text).unwrap().0
    }

    #[test]
    fn a_rewrite_with_the_same_meaning_has_no_change() {
        let a = policy(
            r#"{"grants": [{"src": ["group:a", "group:b"], "dst": ["tag:x"], "ip": ["tcp:22", "tcp:23"]}]}"#,
        );
        let b = policy(
            r#"{"grants": [{"src": ["group:b"], "dst": ["tag:x"], "ip": ["tcp:22-23"]},
                           {"src": ["group:a"], "dst": ["tag:x"], "ip": ["tcp:23", "tcp:22"]}]}"#,
        );
        assert_eq!(diff(&a, &b, None).changes, vec![]);
    }

    #[test]
    fn gained_and_lost_ports_and_caps_relay_first() {
        let a =
            policy(r#"{"grants": [{"src": ["group:a"], "dst": ["tag:x"], "ip": ["tcp:1-100"]}]}"#);
        let b = policy(
            r#"{"grants": [{"src": ["group:a"], "dst": ["tag:x"], "ip": ["tcp:50-200"]},
                           {"src": ["group:a"], "dst": ["tag:r"], "app": {"tailscale.com/cap/relay": []}}]}"#,
        );
        let d = diff(&a, &b, None);
        assert_eq!(d.changes.len(), 2);
        assert_eq!(d.changes[0].added, vec![RELAY_CAP.to_string()]);
        assert_eq!(d.changes[1].added, vec!["tcp:101-200"]);
        assert_eq!(d.changes[1].removed, vec!["tcp:1-49"]);
    }

    #[test]
    fn widening_to_wildcard_is_reported() {
        let a = policy(r#"{"grants": [{"src": ["group:a"], "dst": ["tag:x"], "ip": ["*"]}]}"#);
        let b = policy(r#"{"grants": [{"src": ["*"], "dst": ["tag:x"], "ip": ["*"]}]}"#);
        assert_eq!(diff(&a, &b, None).widened_to_wildcard.len(), 1);
    }

    #[test]
    fn per_node_changes_follow_the_tailnet() {
        let t = Tailnet::from_text(
            r#"{"users": [{"name": "a", "email": "a@example.com"}],
                "nodes": {"laptop": {"ipv4": "100.64.0.1", "user": "a"}, "srv": {"ipv4": "100.64.0.2", "tags": ["tag:x"]}}}"#,
        )
        .unwrap();
        let a = policy(
            r#"{"tagOwners": {"tag:x": []}, "grants": [{"src": ["a@example.com"], "dst": ["tag:x"], "ip": ["tcp:22"]}]}"#,
        );
        let b = policy(
            r#"{"tagOwners": {"tag:x": []}, "grants": [{"src": ["autogroup:member"], "dst": ["tag:x"], "ip": ["tcp:22"]}]}"#,
        );
        assert_eq!(
            diff(&a, &b, Some(&t)).changes,
            vec![],
            "same nodes, same access"
        );
        let c = policy(
            r#"{"tagOwners": {"tag:x": []}, "grants": [{"src": ["a@example.com"], "dst": ["tag:x"], "ip": ["udp:53"]}]}"#,
        );
        let d = diff(&a, &c, Some(&t));
        assert_eq!(d.changes.len(), 1);
        assert_eq!(
            (
                d.changes[0].subject.as_str(),
                d.changes[0].object.as_deref()
            ),
            ("laptop", Some("srv"))
        );
        assert_eq!(d.changes[0].removed, vec!["tcp:22"]);
        assert_eq!(d.changes[0].added, vec!["udp:53"]);
    }

    const TAILNET: &str = r#"{"users": [{"id": 1, "name": "a", "email": "a@example.com"},
                                    {"id": 2, "name": "b", "email": "b@other.org"}],
        "nodes": {"a-laptop": {"ipv4": "100.64.0.1", "user": "a"},
                  "a-phone": {"ipv4": "100.64.0.3", "user": "a"},
                  "b-laptop": {"ipv4": "100.64.0.4", "user": "b"},
                  "srv": {"ipv4": "100.64.0.2", "tags": ["tag:x"]}}}"#;

    fn ssh_changes(old: &str, new: &str) -> Vec<(String, String, Vec<String>, Vec<String>)> {
        let t = Tailnet::from_text(TAILNET).unwrap();
        diff(&policy(old), &policy(new), Some(&t))
            .changes
            .into_iter()
            .filter(|c| c.kind == Kind::Ssh)
            .map(|c| (c.subject, c.object.unwrap_or_default(), c.added, c.removed))
            .collect()
    }

    #[test]
    fn localpart_logins_are_per_source_user_and_domain() {
        let old = r#"{"tagOwners": {"tag:x": []}, "ssh": [
            {"action": "accept", "src": ["autogroup:member"], "dst": ["tag:x"], "users": ["ubuntu"]}]}"#;
        let new = r#"{"tagOwners": {"tag:x": []}, "ssh": [
            {"action": "accept", "src": ["autogroup:member"], "dst": ["tag:x"], "users": ["ubuntu", "localpart:*@example.com"]}]}"#;
        let got: Vec<(String, String, Vec<String>)> = ssh_changes(old, new)
            .into_iter()
            .map(|(s, d, a, _)| (s, d, a))
            .collect();
        let row = |s: &str, d: &str, a: &[&str]| {
            (
                s.to_string(),
                d.to_string(),
                a.iter().map(|x| (*x).to_string()).collect::<Vec<_>>(),
            )
        };
        let both = ["as a: accept", "as ubuntu: accept"];
        assert_eq!(
            got,
            vec![
                // As the control plane does, a source that is not a destination receives
                // its own user's rules: a's nodes reach each other, b's only itself.
                row("a-laptop", "a-laptop", &both),
                row("a-laptop", "a-phone", &both),
                row("a-laptop", "srv", &["as a: accept"]),
                row("a-phone", "a-laptop", &both),
                row("a-phone", "a-phone", &both),
                row("a-phone", "srv", &["as a: accept"]),
                // b's domain is not example.com: no login as b.
                row("b-laptop", "b-laptop", &["as ubuntu: accept"]),
            ]
        );
    }

    #[test]
    fn autogroup_self_logins_reach_only_the_same_users_nodes() {
        let old = r#"{"ssh": []}"#;
        let new = r#"{"ssh": [{"action": "check", "checkPeriod": "4h", "src": ["autogroup:member"],
            "dst": ["autogroup:self"], "users": ["autogroup:nonroot"]}]}"#;
        let pairs: Vec<(String, String)> = ssh_changes(old, new)
            .into_iter()
            .map(|(s, d, a, _)| {
                assert_eq!(a, vec!["as autogroup:nonroot: check every 4h"]);
                (s, d)
            })
            .collect();
        let want: Vec<(String, String)> = [
            ("a-laptop", "a-laptop"),
            ("a-laptop", "a-phone"),
            ("a-phone", "a-laptop"),
            ("a-phone", "a-phone"),
            ("b-laptop", "b-laptop"),
        ]
        .iter()
        .map(|(s, d)| ((*s).to_string(), (*d).to_string()))
        .collect();
        assert_eq!(pairs, want);
    }

    #[test]
    fn ssh_posture_removed_is_a_login_gained() {
        let old = r#"{"tagOwners": {"tag:x": []}, "postures": {"posture:p": ["node:os == 'linux'"]},
            "ssh": [{"action": "accept", "src": ["a@example.com"], "dst": ["tag:x"], "users": ["root"], "srcPosture": ["posture:p"]}]}"#;
        let new = r#"{"tagOwners": {"tag:x": []}, "postures": {"posture:p": ["node:os == 'linux'"]},
            "ssh": [{"action": "accept", "src": ["a@example.com"], "dst": ["tag:x"], "users": ["root"]}]}"#;
        let got = ssh_changes(old, new);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            got[0].2,
            vec!["as root: accept (before: accept if node:os == 'linux')"]
        );
        assert!(got[0].3.is_empty(), "nothing lost: {got:?}");
        let back = ssh_changes(new, old);
        assert!(back[0].2.is_empty() && back[0].3.len() == 1, "{back:?}");
    }
}
