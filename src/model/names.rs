//! The names a policy defines (tags, groups, hosts, ipsets, postures) and what each stands
//! for: the one place where a name is looked up, for the checker, the lints, the tests
//! evaluator, the resolver and `diff`.
//!
//! A name defined twice is a duplicate key, which Tailscale rejects (`TG0005`); should such a
//! policy be looked at all the same, a group, ipset or posture is its first definition and a
//! host its last.

use crate::model::policy::{Policy, Sel, Str};
use crate::model::selector::IpsetEntry;
use crate::span::Spanned;
use ipnet::IpNet;
// foldhash: the keys are the policy's own names, looked up many times; no order is read.
use foldhash::{HashMap, HashMapExt, HashSet};

/// The names defined by a policy.
#[derive(Debug, Default)]
pub struct Names<'p> {
    /// Keys of `tagOwners`.
    pub(crate) tags: HashSet<&'p str>,
    /// Keys of `groups`, each with its members.
    pub(crate) groups: HashMap<&'p str, &'p [Sel]>,
    /// Keys of `hosts` with their prefix, when it parses.
    pub(crate) hosts: HashMap<&'p str, Option<IpNet>>,
    /// Keys of `ipsets`, each with its entries.
    pub(crate) ipsets: HashMap<&'p str, &'p [Spanned<IpsetEntry>]>,
    /// Keys of `postures`, each with its conditions.
    pub(crate) postures: HashMap<&'p str, &'p [Str]>,
}

impl<'p> Names<'p> {
    /// Collects the names `policy` defines.
    pub fn new(policy: &'p Policy) -> Self {
        Self {
            tags: policy.tag_owners.iter().map(|(k, _)| k.as_str()).collect(),
            groups: first_definitions(&policy.groups),
            hosts: policy
                .hosts
                .iter()
                .map(|(k, v)| (k.as_str(), parse_prefix(v)))
                .collect(),
            ipsets: first_definitions(&policy.ipsets),
            postures: first_definitions(&policy.postures),
        }
    }

    /// The members of group `name`, if it is defined.
    pub(crate) fn group(&self, name: &str) -> Option<&'p [Sel]> {
        self.groups.get(name).copied()
    }

    /// The entries of ipset `name`, if it is defined.
    pub(crate) fn ipset(&self, name: &str) -> Option<&'p [Spanned<IpsetEntry>]> {
        self.ipsets.get(name).copied()
    }
}

/// Each key of `map` with the value of its first occurrence.
fn first_definitions<T>(map: &[(Str, Vec<T>)]) -> HashMap<&str, &[T]> {
    let mut out = HashMap::with_capacity(map.len());
    for (k, v) in map {
        out.entry(k.as_str()).or_insert(v.as_slice());
    }
    out
}

/// An IP (as a /32 or /128) or a CIDR.
pub(crate) fn parse_prefix(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_defined_twice_is_its_first_definition() {
        let text = r#"{"groups": {"group:a": ["x@example.com"], "group:a": ["y@example.com"]}}"#;
        let Ok((policy, _)) = crate::model::policy::parse_policy(text) else {
            unreachable!("the duplicate key is a finding, not a syntax error")
        };
        let names = Names::new(&policy);
        let members: Vec<&str> = names
            .group("group:a")
            .unwrap_or_default()
            .iter()
            .map(|m| m.as_str())
            .collect();
        assert_eq!(members, ["x@example.com"]);
        assert!(names.ipset("ipset:none").is_none());
    }
}
