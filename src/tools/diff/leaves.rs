//! What a selector stands for without a tailnet: groups replaced by their members, hosts
//! and ipsets by the address prefixes they hold. Two policies that name the same users,
//! tags and addresses through different groups, hosts or ipsets then compare equal, and a
//! change inside a group, host or ipset shows as the access it changes.

use crate::engine::resolve::{net_string, AddrSet, Resolver};
use crate::model::policy::Policy;
use crate::model::selector::{Alias, Selector};
use crate::model::tailnet::Tailnet;
use std::collections::BTreeSet;

/// Deeper group nesting than this is rejected by `check`; the bound keeps a cycle finite.
const MAX_DEPTH: u8 = 8;

/// Expands selectors of one policy.
pub(crate) struct Leaves<'a> {
    /// Looks names up, and resolves hosts, ipsets and prefixes, which need no node.
    addresses: Resolver<'a>,
}

impl<'a> Leaves<'a> {
    /// An expander for `policy`, with `empty` as the (node-less) tailnet.
    pub(crate) fn new(policy: &'a Policy, empty: &'a Tailnet) -> Self {
        Self {
            addresses: Resolver::new(policy, empty),
        }
    }

    /// The leaves of `selector`: users, tags, autogroups, `*` and address prefixes.
    pub(crate) fn of(&self, selector: &Selector) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.expand(selector, 0, &mut out);
        out
    }

    fn expand(&self, selector: &Selector, depth: u8, out: &mut BTreeSet<String>) {
        if depth > MAX_DEPTH {
            return;
        }
        let text = selector.trimmed();
        match selector.alias() {
            Alias::Group(name) => {
                match self.addresses.names().group(name) {
                    Some(members) => {
                        for m in members {
                            self.expand(m, depth + 1, out);
                        }
                    }
                    // Undefined (which `check` rejects): kept as written, so that it still
                    // compares.
                    None => {
                        out.insert(name.clone());
                    }
                }
            }
            Alias::User(email) => {
                out.insert(email.clone());
            }
            Alias::Ipset(name) => self.ipset(name, selector, depth, out),
            Alias::Prefix(_) | Alias::Host(_) => {
                let set: AddrSet = self.addresses.resolve_selector(selector);
                if set.is_empty() {
                    // Not an address after all (a name `check` would reject): kept as
                    // written so that it still compares.
                    out.insert(text.to_string());
                }
                out.extend(set.prefixes().iter().map(net_string));
            }
            _ => {
                out.insert(text.to_string());
            }
        }
    }
}

impl Leaves<'_> {
    /// The leaves of an ipset: the prefixes of each entry it adds, less what it removes, so
    /// that adding an address to a set adds one leaf and leaves the others as they were.
    fn ipset(&self, name: &str, selector: &Selector, depth: u8, out: &mut BTreeSet<String>) {
        let whole = self.addresses.resolve_selector(selector);
        let Some(entries) = self.addresses.names().ipset(name) else {
            out.insert(selector.trimmed().to_string());
            return;
        };
        for e in entries.iter().filter(|e| !e.removes()) {
            let entry = e.selector();
            if matches!(entry.alias(), Alias::Ipset(_)) {
                self.expand(entry, depth + 1, out);
                continue;
            }
            let mut kept = self.addresses.resolve_selector(entry);
            let mut outside = kept.clone();
            outside.remove_set(&whole);
            kept.remove_set(&outside);
            out.extend(kept.prefixes().iter().map(net_string));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_hosts_and_ipsets_expand_to_what_they_hold() {
        let (p, _) = crate::model::policy::parse_policy(
            r#"{"groups": {"group:a": ["alice@example.com", "user:bob@example.com"]},
                "hosts": {"db": "10.0.0.1"},
                "ipsets": {"ipset:net": ["10.1.0.0/25", "10.1.0.128/25", "remove 10.1.0.7"]}}"#,
        )
        .unwrap_or_default();
        let empty = Tailnet::default();
        let l = Leaves::new(&p, &empty);
        assert_eq!(
            l.of(&Selector::new("group:a"))
                .into_iter()
                .collect::<Vec<_>>(),
            vec!["alice@example.com", "bob@example.com"]
        );
        assert_eq!(
            l.of(&Selector::new("db")).into_iter().collect::<Vec<_>>(),
            vec!["10.0.0.1"]
        );
        let net = l.of(&Selector::new("ipset:net"));
        assert!(net.contains("10.1.0.0/30"), "{net:?}");
        assert!(net.contains("10.1.0.128/25"), "{net:?}");
        assert!(!net.iter().any(|s| s == "10.1.0.0/24" || s == "10.1.0.7"));
        assert_eq!(
            l.of(&Selector::new("tag:x"))
                .into_iter()
                .collect::<Vec<_>>(),
            vec!["tag:x"]
        );
    }
}
