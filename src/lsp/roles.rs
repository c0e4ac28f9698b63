//! What a string at a place of the policy stands for: a selector, a protocol, a capability
//! name, a node attribute, a definition's name...

use crate::vocab::descriptions::Place;

/// The kinds of name a policy defines and refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// `group:x`, defined in `groups`.
    Group,
    /// `tag:x`, defined in `tagOwners`.
    Tag,
    /// A host alias, defined in `hosts`.
    Host,
    /// `ipset:x`, defined in `ipsets`.
    Ipset,
    /// `posture:x`, defined in `postures`.
    Posture,
}

impl Kind {
    /// The section that defines names of this kind.
    pub(crate) const fn section(self) -> &'static str {
        match self {
            Self::Group => "groups",
            Self::Tag => "tagOwners",
            Self::Host => "hosts",
            Self::Ipset => "ipsets",
            Self::Posture => "postures",
        }
    }

    /// The kind a section defines.
    pub(crate) fn of_section(section: &str) -> Option<Self> {
        [
            Self::Group,
            Self::Tag,
            Self::Host,
            Self::Ipset,
            Self::Posture,
        ]
        .into_iter()
        .find(|k| k.section().eq_ignore_ascii_case(section))
    }

    /// The word for it in messages.
    pub(crate) const fn noun(self) -> &'static str {
        match self {
            Self::Group => "group",
            Self::Tag => "tag",
            Self::Host => "host",
            Self::Ipset => "ipset",
            Self::Posture => "posture",
        }
    }
}

/// What a string value stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A selector (`tag:x`, `group:y`, a host, an IP...).
    Selector(Place),
    /// A selector followed by `:ports` (an ACL destination, a test destination).
    SelectorWithPorts(Place),
    /// A posture name.
    Posture,
    /// An IP protocol, or a grant's `ip` entry (`tcp:443`).
    Protocol,
    /// A node attribute.
    NodeAttribute,
    /// A tag (a grant's `via`).
    Tag,
    /// An `ipsets` entry: an address, a host, another ipset, each after an optional `add`
    /// or `remove`.
    IpsetEntry,
    /// A group member: a user.
    User,
    /// Something else.
    Other,
}

/// The role of a string value at `keys` (lowercased path, items as `[]`).
pub(crate) fn value_role(keys: &[String]) -> Role {
    let k: Vec<&str> = keys.iter().map(String::as_str).collect();
    match k.as_slice() {
        ["acls" | "grants", "[]", "src" | "users", "[]"] => Role::Selector(Place::Src),
        ["grants", "[]", "dst", "[]"] => Role::Selector(Place::Dst),
        ["acls", "[]", "dst" | "ports", "[]"] => Role::SelectorWithPorts(Place::Dst),
        ["ssh", "[]", "src", "[]"] => Role::Selector(Place::SshSrc),
        ["ssh", "[]", "dst", "[]"] => Role::Selector(Place::SshDst),
        ["ssh", "[]", "users", "[]"] => Role::Selector(Place::SshUser),
        ["nodeattrs", "[]", "target", "[]"] => Role::Selector(Place::Target),
        ["nodeattrs", "[]", "attr", "[]"] => Role::NodeAttribute,
        ["tagowners", _, "[]"] => Role::Selector(Place::Owner),
        ["autoapprovers", "routes", _, "[]"] | ["autoapprovers", "exitnode", "[]"] => {
            Role::Selector(Place::Owner)
        }
        ["groups", _, "[]"] => Role::User,
        ["tests", "[]", "src" | "user"] | ["sshtests", "[]", "src"] => Role::Selector(Place::Src),
        ["tests", "[]", "accept" | "deny" | "allow", "[]"] => Role::SelectorWithPorts(Place::Dst),
        ["sshtests", "[]", "dst", "[]"] => Role::Selector(Place::SshDst),
        ["acls" | "grants" | "ssh", "[]", "srcposture", "[]"] | ["defaultsrcposture", "[]"] => {
            Role::Posture
        }
        ["acls" | "tests", "[]", "proto"] | ["grants", "[]", "ip", "[]"] => Role::Protocol,
        ["grants", "[]", "via", "[]"] | ["ssh", "[]", "recorder", "[]"] => Role::Tag,
        ["ipsets", _, "[]"] => Role::IpsetEntry,
        _ => Role::Other,
    }
}

/// True when a key at `keys` (the object's path) is a capability name: the keys of a
/// grant's or a `nodeAttrs` entry's `app`.
pub(crate) fn is_capability_key(keys: &[String]) -> bool {
    let k: Vec<&str> = keys.iter().map(String::as_str).collect();
    matches!(k.as_slice(), ["grants" | "nodeattrs", "[]", "app"])
}

/// The kind of name a key at `keys` (the object's path) defines, if it is a definition.
pub(crate) fn definition_kind(keys: &[String]) -> Option<Kind> {
    match keys {
        [section] => Kind::of_section(section),
        _ => None,
    }
}

/// The name a value refers to, as a byte range of the value's raw text, with its kind: the
/// alias of a selector without its `:ports`, a posture, a tag. `None` for names that refer
/// to no definition (users, autogroups, IPs, `*`).
pub(crate) fn reference(role: Role, raw: &str) -> Option<(std::ops::Range<usize>, Kind)> {
    let lead = raw.len() - raw.trim_start().len();
    let trimmed = raw.trim();
    let name = match role {
        Role::IpsetEntry => {
            let entry = ["add ", "remove "]
                .iter()
                .find_map(|op| trimmed.strip_prefix(op))
                .map_or(trimmed, str::trim_start);
            let skipped = trimmed.len() - entry.len();
            return match crate::model::selector::parse_alias(entry) {
                crate::model::selector::Alias::Ipset(_) => {
                    Some((lead + skipped..lead + skipped + entry.len(), Kind::Ipset))
                }
                crate::model::selector::Alias::Host(h)
                    if !h.is_empty() && !h.contains([':', '[', ' ']) && !is_ip_range(&h) =>
                {
                    Some((lead + skipped..lead + skipped + entry.len(), Kind::Host))
                }
                _ => None,
            };
        }
        Role::SelectorWithPorts(_) => {
            crate::model::selector::split_acl_dst(trimmed).map_or(trimmed, |(alias, _)| alias)
        }
        Role::Selector(Place::SshUser) | Role::User | Role::Protocol | Role::NodeAttribute => {
            return None
        }
        Role::Selector(_) | Role::Tag => trimmed,
        Role::Posture => {
            return trimmed
                .starts_with("posture:")
                .then(|| (lead..lead + trimmed.len(), Kind::Posture))
        }
        Role::Other => return None,
    };
    let kind = match crate::model::selector::parse_alias(name) {
        crate::model::selector::Alias::Group(_) => Kind::Group,
        crate::model::selector::Alias::Tag(_) => Kind::Tag,
        crate::model::selector::Alias::Ipset(_) => Kind::Ipset,
        crate::model::selector::Alias::Host(h) if !h.is_empty() && !h.contains([':', '[']) => {
            Kind::Host
        }
        _ => return None,
    };
    Some((lead..lead + name.len(), kind))
}

/// `10.0.0.1-10.0.0.9`, an ipset's address range.
fn is_ip_range(s: &str) -> bool {
    s.split_once('-').is_some_and(|(a, b)| {
        a.trim().parse::<std::net::IpAddr>().is_ok() && b.trim().parse::<std::net::IpAddr>().is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(path: &[&str]) -> Vec<String> {
        path.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn places_of_selectors_and_other_strings() {
        assert_eq!(
            value_role(&keys(&["grants", "[]", "dst", "[]"])),
            Role::Selector(Place::Dst)
        );
        assert_eq!(
            value_role(&keys(&["acls", "[]", "dst", "[]"])),
            Role::SelectorWithPorts(Place::Dst)
        );
        assert_eq!(
            value_role(&keys(&["grants", "[]", "ip", "[]"])),
            Role::Protocol
        );
        assert_eq!(value_role(&keys(&["groups", "group:a", "[]"])), Role::User);
        assert_eq!(definition_kind(&keys(&["tagowners"])), Some(Kind::Tag));
    }

    #[test]
    fn a_reference_is_the_alias_without_its_ports_and_spaces() {
        let dst = Role::SelectorWithPorts(Place::Dst);
        assert_eq!(reference(dst, " tag:web:443"), Some((1..8, Kind::Tag)));
        assert_eq!(reference(dst, "db:*"), Some((0..2, Kind::Host)));
        assert_eq!(reference(dst, "10.0.0.1:22"), None);
        let src = Role::Selector(Place::Src);
        assert_eq!(reference(src, "group:ops"), Some((0..9, Kind::Group)));
        assert_eq!(reference(src, "autogroup:member"), None);
        assert_eq!(reference(src, "a@example.com"), None);
        assert_eq!(
            reference(Role::IpsetEntry, "remove ipset:b"),
            Some((7..14, Kind::Ipset))
        );
        assert_eq!(
            reference(Role::IpsetEntry, "add db-1"),
            Some((4..8, Kind::Host))
        );
        assert_eq!(reference(Role::IpsetEntry, "10.0.0.0-10.0.0.9"), None);
        assert_eq!(
            reference(Role::Posture, "posture:latest"),
            Some((0..14, Kind::Posture))
        );
    }
}
