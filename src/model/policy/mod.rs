//! The typed policy: every section of a tailnet policy file, each value with its span.
//!
//! Every span is held by a [`Spanned`] wrapper, which takes no part in equality: two
//! policies compare equal when they mean the same, however they are laid out.
//!
//! [`from_node`] turns the HuJSON tree into this form, reporting unknown keys and
//! values of the wrong shape. Semantic rules (selectors, tags, ports...) are checked later by
//! [`crate::validate::check`](mod@crate::validate::check).

mod decode;

pub use decode::{from_node, from_node_in, parse_policy, parse_policy_in};
pub(crate) use decode::{headscale_fields, parse_policy_keeping_tree};

/// The top-level fields of a policy file, as Tailscale spells them.
pub const TOP_LEVEL_FIELDS: &[&str] = decode::TOP;

use crate::model::selector::{CapName, Dst, IpEntry, IpsetEntry, Proto, Selector};
use crate::span::Spanned;

/// A string with its span.
pub type Str = Spanned<String>;

/// A selector with its span.
pub type Sel = Spanned<Selector>;

/// An ordered map as written in the file (duplicate keys already reported by the parser).
pub type Map<V> = Vec<(Str, V)>;

/// A whole policy file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    /// Legacy access rules.
    pub acls: Vec<Spanned<Acl>>,
    /// Grants.
    pub grants: Vec<Spanned<Grant>>,
    /// `group:x` to its members.
    pub groups: Map<Vec<Sel>>,
    /// Host aliases to an IP or CIDR.
    pub hosts: Map<Str>,
    /// `tag:x` to its owners.
    pub tag_owners: Map<Vec<Sel>>,
    /// Route and exit-node auto-approval.
    pub(crate) auto_approvers: Option<AutoApprovers>,
    /// SSH rules.
    pub ssh: Vec<Spanned<SshRule>>,
    /// Node attributes.
    pub node_attrs: Vec<Spanned<NodeAttr>>,
    /// `posture:x` to its conditions.
    pub(crate) postures: Map<Vec<Str>>,
    /// Postures applied to every rule without `srcPosture`.
    pub(crate) default_src_posture: Vec<Str>,
    /// `ipset:x` to its entries.
    pub(crate) ipsets: Map<Vec<Spanned<IpsetEntry>>>,
    /// Network access tests.
    pub tests: Vec<Spanned<PolicyTest>>,
    /// SSH access tests.
    pub ssh_tests: Vec<Spanned<SshTest>>,
    /// Custom DERP map, kept as JSON.
    pub(crate) derp_map: Option<serde_json::Value>,
    /// Top-level switches (`disableIPv4`, `oneCGNATRoute`, `randomizeClientPort`).
    pub(crate) switches: Map<bool>,
    /// `attrConfig`, kept as JSON.
    pub(crate) attr_config: Option<serde_json::Value>,
    /// The top-level keys written in the file, in order (an empty `grants` list is not an
    /// absent one: Tailscale allows everything only when both `acls` and `grants` are absent).
    pub(crate) sections: Vec<Str>,
}

/// One `acls` entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Acl {
    /// `accept` (the only action Tailscale supports).
    pub(crate) action: Option<Str>,
    /// Sources (`src`, formerly `users`).
    pub(crate) src: Vec<Sel>,
    /// Destinations as `alias:ports` (`dst`, formerly `ports`).
    pub(crate) dst: Vec<Spanned<Dst>>,
    /// IP protocol.
    pub(crate) proto: Option<Spanned<Proto>>,
    /// Device posture conditions.
    pub(crate) src_posture: Vec<Str>,
}

/// One `grants` entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grant {
    /// Sources.
    pub src: Vec<Sel>,
    /// Destinations.
    pub dst: Vec<Sel>,
    /// Network capabilities (`tcp:443`, `*`...).
    pub ip: Vec<Spanned<IpEntry>>,
    /// Application capabilities: name to its values (JSON objects). The span is the `app`
    /// object's, or the grant's when the key is absent.
    pub(crate) app: Spanned<Vec<(Spanned<CapName>, Vec<serde_json::Value>)>>,
    /// Device posture conditions.
    pub(crate) src_posture: Vec<Str>,
    /// Tags of the routers the traffic must go through.
    pub(crate) via: Vec<Sel>,
}

impl Grant {
    /// Whether this is a relay grant: its `app` holds [`RELAY_CAP`](crate::vocab::RELAY_CAP). The one definition that
    /// the lints, the relay's policy view and its explanations share.
    pub(crate) fn is_relay_grant(&self) -> bool {
        self.app.iter().any(|(name, _)| name.is_relay())
    }
}

impl Policy {
    /// The relay grants ([`Grant::is_relay_grant`]), in file order.
    pub(crate) fn relay_grants(&self) -> impl Iterator<Item = &Spanned<Grant>> {
        self.grants.iter().filter(|g| g.is_relay_grant())
    }
}

/// The `autoApprovers` section.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AutoApprovers {
    /// CIDR to who may advertise it.
    pub(crate) routes: Map<Vec<Sel>>,
    /// Who may advertise an exit node.
    pub(crate) exit_node: Vec<Sel>,
    /// Services, kept as JSON.
    pub(crate) services: Option<serde_json::Value>,
}

/// One `ssh` rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SshRule {
    /// `accept` or `check`.
    pub(crate) action: Option<Str>,
    /// Sources.
    pub(crate) src: Vec<Sel>,
    /// Destinations.
    pub(crate) dst: Vec<Sel>,
    /// Login users; `None` when the key is absent or null. The span is the `users` value's,
    /// or the rule's when the key is absent.
    pub(crate) users: Spanned<Option<Vec<Str>>>,
    /// Re-check period for `check`.
    pub(crate) check_period: Option<Str>,
    /// Environment variables the client may send.
    pub(crate) accept_env: Vec<Str>,
    /// Session recorders.
    pub(crate) recorder: Vec<Str>,
    /// Refuse sessions when no recorder is reachable.
    pub(crate) enforce_recorder: Option<bool>,
    /// Device posture conditions.
    pub(crate) src_posture: Vec<Str>,
}

/// One `nodeAttrs` entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeAttr {
    /// Which nodes.
    pub(crate) target: Vec<Sel>,
    /// Attributes.
    pub(crate) attr: Vec<Str>,
    /// App capabilities, kept as JSON.
    pub(crate) app: Option<serde_json::Value>,
    /// Address pools for the targets.
    pub(crate) ip_pool: Vec<Str>,
}

/// One `tests` entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyTest {
    /// Source (`src`, formerly `user`).
    pub(crate) src: Option<Sel>,
    /// Protocol.
    pub(crate) proto: Option<Spanned<Proto>>,
    /// Destinations that must be reachable (`accept`, formerly `allow`).
    pub(crate) accept: Vec<Spanned<Dst>>,
    /// Destinations that must not be reachable.
    pub(crate) deny: Vec<Spanned<Dst>>,
    /// Device posture of the source.
    pub(crate) src_posture_attrs: Option<serde_json::Value>,
}

/// One `sshTests` entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SshTest {
    /// Source.
    pub(crate) src: Option<Sel>,
    /// Destination hosts.
    pub(crate) dst: Vec<Sel>,
    /// Login users that must be accepted.
    pub(crate) accept: Vec<Str>,
    /// Login users that must need a check.
    pub(crate) check: Vec<Str>,
    /// Login users that must be denied.
    pub(crate) deny: Vec<Str>,
}

/// The closest known name, if one is close enough to be a likely typo.
pub(crate) fn suggest_name<'a>(
    word: &str,
    known: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    // The distance takes time and memory in the product of the lengths: no name worth
    // suggesting is this long.
    if word.len() > 200 {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    known
        .map(|k| {
            (
                strsim::damerau_levenshtein(&lower, &k.to_ascii_lowercase()),
                k,
            )
        })
        .filter(|(dist, k)| *dist <= 2.max(k.len() / 4))
        .min_by_key(|(dist, k)| (*dist, *k))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_grants_are_the_grants_whose_app_holds_the_relay_cap_by_its_exact_name() {
        let (policy, _) = parse_policy(
            r#"{"grants": [
                {"src": ["a@example.com"], "dst": ["tag:r"], "app": {"tailscale.com/cap/relay": []}},
                {"src": ["b@example.com"], "dst": ["tag:r"], "app": {"tailscale.com/cap/relay-target": []}},
                {"src": ["c@example.com"], "dst": ["tag:r"], "ip": ["*"]},
                {"src": ["d@example.com"], "dst": ["tag:r"],
                 "app": {"example.com/cap/x": [], "tailscale.com/cap/relay": []}},
                {"src": ["e@example.com"], "dst": ["tag:r"], "app": {"Tailscale.com/cap/relay": []}}
            ]}"#,
        )
        .unwrap();
        let srcs: Vec<&str> = policy
            .relay_grants()
            .map(|g| g.src[0].value.as_str())
            .collect();
        assert_eq!(srcs, ["a@example.com", "d@example.com"]);
        assert!(!policy.grants[1].is_relay_grant());
    }
}
