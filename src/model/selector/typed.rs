//! The typed values the decoder makes of policy strings, each parsed once.

use super::alias::{parse_alias, Alias};
use super::ports::{parse_grant_ip, parse_ports, parse_proto, split_acl_dst, IpSpec, PortRange};
use crate::vocab::{tailscale_cap, TailscaleCap, RELAY_CAP};
use std::fmt;

/// A selector as written in the policy (`tag:web`, `group:dev`, `alice@example.com`, a host
/// name, a CIDR...) and what it names, classified once when the policy is decoded so that no
/// later stage parses the string again.
///
/// The text is kept as written, for messages and spans; the [`Alias`] is that of the text
/// without surrounding whitespace, as the checker and the engine read it. A selector derefs
/// to its text, so it reads as the string it was in the file.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Selector {
    text: String,
    /// Whether the alias classifies the text as it is (a part of a larger string) rather
    /// than without its surrounding whitespace.
    exact: bool,
    alias: Alias,
}

impl Selector {
    /// Classifies `text`, ignoring surrounding whitespace.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let alias = parse_alias(text.trim());
        Self {
            text,
            exact: false,
            alias,
        }
    }

    /// A selector as Headscale classifies it (hscontrol/policy/v2/types.go, `parseAlias`):
    /// after an address or prefix and `*`, anything that contains `@` is a user, before
    /// groups, tags and autogroups, so `group:ops@example.com` names a user there.
    pub(crate) fn headscale(text: impl Into<String>) -> Self {
        Self::new(text).into_headscale()
    }

    /// This selector as Headscale classifies it ([`Self::headscale`]).
    fn into_headscale(mut self) -> Self {
        let trimmed = self.text.trim();
        if trimmed.contains('@')
            && matches!(
                self.alias,
                Alias::Group(_)
                    | Alias::Tag(_)
                    | Alias::Autogroup(_)
                    | Alias::Ipset(_)
                    | Alias::Service(_)
            )
        {
            self.alias = Alias::User(trimmed.to_string());
        }
        self
    }

    /// A part of a larger string (the alias of `alias:ports`), classified exactly as it is.
    fn part(text: &str) -> Self {
        Self {
            text: text.to_string(),
            exact: true,
            alias: parse_alias(text),
        }
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The text [`Self::alias`] classifies: the text without surrounding whitespace (the
    /// alias of an `alias:ports` destination is classified as it stands before the colon).
    pub fn trimmed(&self) -> &str {
        if self.exact {
            &self.text
        } else {
            self.text.trim()
        }
    }

    /// What the selector names.
    pub const fn alias(&self) -> &Alias {
        &self.alias
    }
}

impl PartialEq<str> for Selector {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for Selector {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl From<&str> for Selector {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

/// An `alias:ports` destination of an ACL entry or a network test, split at its last colon
/// and parsed once when the policy is decoded. A bracketed IPv6 alias (`[fd7a::1]:22`) loses
/// its brackets.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Dst {
    text: String,
    /// The alias and the ports (or the control plane's message on the ports); `None` when
    /// the text has no colon.
    parts: Option<(Selector, Result<Vec<PortRange>, String>)>,
}

impl Dst {
    /// Splits and parses `text`, ignoring surrounding whitespace.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let parts = split_acl_dst(text.trim()).map(|(alias, ports)| {
            let alias = alias.trim_start_matches('[').trim_end_matches(']');
            (Selector::part(alias), parse_ports(ports))
        });
        Self { text, parts }
    }

    /// Splits and parses `text` as Headscale does (hscontrol/policy/v2/utils.go,
    /// `splitDestinationAndPort`): besides `[v6]:ports`, Headscale takes a bracketed IPv6
    /// address followed by a prefix length, `[v6]/len:ports`, and reads it as the CIDR
    /// `v6/len`. Anything else is split as [`Self::new`] splits it; brackets around
    /// something other than an IPv6 address are rejected by the Headscale check.
    pub(crate) fn headscale(text: impl Into<String>) -> Self {
        let text = text.into();
        let Some(cidr) = bracketed_v6_cidr(text.trim()) else {
            let mut dst = Self::new(text);
            dst.parts = dst
                .parts
                .map(|(alias, ports)| (alias.into_headscale(), ports));
            return dst;
        };
        let parts =
            split_acl_dst(&cidr).map(|(alias, ports)| (Selector::part(alias), parse_ports(ports)));
        Self { text, parts }
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The text without surrounding whitespace.
    pub fn trimmed(&self) -> &str {
        self.text.trim()
    }

    /// The alias before the last colon, brackets removed; `None` without a colon.
    pub fn host(&self) -> Option<&Selector> {
        self.parts.as_ref().map(|(host, _)| host)
    }

    /// The ports after the last colon, or the control plane's message on them; `None`
    /// without a colon.
    pub fn ports(&self) -> Option<Result<&[PortRange], &str>> {
        self.parts
            .as_ref()
            .map(|(_, ports)| ports.as_deref().map_err(String::as_str))
    }

    /// The alias and its ports, when both are well formed.
    pub fn valid(&self) -> Option<(&Selector, &[PortRange])> {
        match &self.parts {
            Some((host, Ok(ports))) => Some((host, ports)),
            _ => None,
        }
    }
}

/// `v6/len:ports` for `[v6]/len:ports`, the brackets dropped; `None` for any other text.
fn bracketed_v6_cidr(text: &str) -> Option<String> {
    let (host, rest) = text.strip_prefix('[')?.split_once(']')?;
    host.parse::<std::net::Ipv6Addr>().ok()?;
    rest.starts_with('/').then(|| format!("{host}{rest}"))
}

impl PartialEq<&str> for Dst {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

/// One entry of an ipset: a selector to add (`add x`, or `x` alone) or to remove
/// (`remove x`), split once when the policy is decoded.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IpsetEntry {
    text: String,
    remove: bool,
    selector: Selector,
}

impl IpsetEntry {
    /// Splits `text` into its operation and selector, ignoring surrounding whitespace.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let trimmed = text.trim();
        let (remove, body) = match trimmed.strip_prefix("remove ") {
            Some(rest) => (true, rest),
            None => (false, trimmed.strip_prefix("add ").unwrap_or(trimmed)),
        };
        let selector = Selector::part(body.trim());
        Self {
            text,
            remove,
            selector,
        }
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True for `remove x`.
    pub const fn removes(&self) -> bool {
        self.remove
    }

    /// The selector added or removed, without `add `/`remove ` and surrounding whitespace.
    pub const fn selector(&self) -> &Selector {
        &self.selector
    }
}

/// The name of an application capability (`example.com/cap/my-app`,
/// `tailscale.com/cap/relay`), classified once when the policy is decoded: whether it has
/// the form `{domain}/{path}` the control plane requires, and what Tailscale makes of a name
/// in its own domain.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CapName {
    text: String,
    well_formed: bool,
    tailscale: Option<TailscaleCap>,
}

impl CapName {
    /// Classifies `text` as written (capability names are not trimmed).
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let well_formed = !text.contains("://")
            && text
                .split_once('/')
                .is_some_and(|(domain, path)| domain.contains('.') && !path.is_empty());
        let tailscale = tailscale_cap(&text);
        Self {
            text,
            well_formed,
            tailscale,
        }
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the name has the form `{domain}/{path}` without a URL scheme.
    pub const fn is_well_formed(&self) -> bool {
        self.well_formed
    }

    /// What Tailscale makes of a name in the `tailscale.com` domain; `None` outside it.
    pub const fn tailscale(&self) -> Option<TailscaleCap> {
        self.tailscale
    }

    /// Whether this is the peer-relay capability, [`RELAY_CAP`], by its exact name.
    pub fn is_relay(&self) -> bool {
        self.text == RELAY_CAP
    }
}

/// An IP protocol field (`"proto"` of an ACL entry or a test): a name or an IANA number,
/// parsed once when the policy is decoded.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Proto {
    text: String,
    protos: Result<Vec<u8>, String>,
}

impl Proto {
    /// Parses `text`, ignoring surrounding whitespace.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let protos = parse_proto(text.trim());
        Self { text, protos }
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The protocol numbers (`icmp` stands for ICMP and ICMPv6), or the control plane's
    /// message for an unknown protocol.
    pub fn protos(&self) -> Result<&[u8], &str> {
        self.protos.as_deref().map_err(String::as_str)
    }
}

/// One entry of a grant's `ip` list (`*`, `22`, `tcp:443`, `icmp:*`...), parsed once when the
/// policy is decoded.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IpEntry {
    text: String,
    spec: Result<IpSpec, String>,
}

impl IpEntry {
    /// Parses `text`, ignoring surrounding whitespace.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let spec = parse_grant_ip(text.trim());
        Self { text, spec }
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The protocols and ports, or the control plane's message on the entry.
    pub fn spec(&self) -> Result<&IpSpec, &str> {
        self.spec.as_ref().map_err(String::as_str)
    }
}

/// The traits every typed value of a policy string shares, on its `text` field: it derefs
/// to the text as written, displays it, and shows it with `{:?}` quoted as a string is, so
/// that messages quoting a value read as they did when it was a string.
macro_rules! text_value {
    ($($t:ty),*) => {$(
        impl std::ops::Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                &self.text
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.text, f)
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.text)
            }
        }
    )*};
}

text_value!(Selector, Dst, IpsetEntry, CapName, Proto, IpEntry);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{ICMP, ICMPV6};
    #[test]
    fn a_selector_keeps_its_text_and_classifies_it_without_surrounding_whitespace() {
        let s = Selector::new(" tag:web ");
        assert_eq!(s.as_str(), " tag:web ");
        assert_eq!(s.trimmed(), "tag:web");
        assert_eq!(s.alias(), &Alias::Tag("tag:web".into()));
        assert_eq!(format!("{s:?}"), "\" tag:web \"");
        assert_eq!(Selector::new("tag:web"), Selector::from("tag:web"));
        assert_ne!(Selector::new("tag:web"), Selector::new("tag:db"));
    }

    /// Headscale's split of a destination (hscontrol/policy/v2/utils_test.go,
    /// `TestSplitDestinationAndPort`): the alias and the ports of each accepted form.
    #[test]
    fn headscale_splits_bracketed_ipv6_with_or_without_a_prefix_length() {
        let table = [
            ("git-server:*", "git-server", "*"),
            (
                "tag:montreal-webserver:80,443",
                "tag:montreal-webserver",
                "80,443",
            ),
            ("192.168.1.0/24:22", "192.168.1.0/24", "22"),
            ("fd7a:115c:a1e0::2:22", "fd7a:115c:a1e0::2", "22"),
            ("fd7a:115c:a1e0::2/128:22", "fd7a:115c:a1e0::2/128", "22"),
            ("[fd7a:115c:a1e0::87e1]:22", "fd7a:115c:a1e0::87e1", "22"),
            ("[::1]:22,80,443", "::1", "22,80,443"),
            ("[fd7a:115c:a1e0::2]:80-90", "fd7a:115c:a1e0::2", "80-90"),
            ("[::]:*", "::", "*"),
            (
                "[fd7a:115c:a1e0::2905]/128:80,443",
                "fd7a:115c:a1e0::2905/128",
                "80,443",
            ),
            ("[2001:db8::1]/32:443", "2001:db8::1/32", "443"),
            (
                "[fd7a:115c:a1e0::2]/64:80-90",
                "fd7a:115c:a1e0::2/64",
                "80-90",
            ),
            ("[::]/0:*", "::/0", "*"),
        ];
        for (input, alias, ports) in table {
            let d = Dst::headscale(input);
            assert_eq!(d.as_str(), input);
            assert_eq!(d.host().map(Selector::trimmed), Some(alias), "{input}");
            assert_eq!(
                d.ports().unwrap(),
                Dst::new(format!("x:{ports}")).ports().unwrap()
            );
        }
        // Tailscale keeps the prefix length outside the brackets in the alias, which is then
        // no address.
        let ts = Dst::new("[fd7a:115c:a1e0::2905]/128:80");
        assert_eq!(
            ts.host().map(Selector::trimmed),
            Some("fd7a:115c:a1e0::2905]/128")
        );
        // A CIDR inside the brackets, or something other than IPv6, is split as before
        // (and rejected by the Headscale check).
        for input in ["[fd7a::2/128]:22", "[10.0.0.0/8]:80", "[192.168.1.1]/32:80"] {
            assert!(Dst::headscale(input) == Dst::new(input), "{input}");
        }
    }

    #[test]
    fn a_destination_is_split_once_into_alias_and_ports() {
        let d = Dst::new("tag:web:80,443");
        let (host, ports) = d.valid().unwrap();
        assert_eq!(host.alias(), &Alias::Tag("tag:web".into()));
        assert_eq!(ports.len(), 2);
        let v6 = Dst::new("[fd7a::1]:22");
        assert_eq!(
            v6.host().unwrap().alias(),
            &Alias::Prefix("fd7a::1/128".parse().unwrap())
        );
        assert!(Dst::new("web").host().is_none());
        // Split at the last colon, `tag:web` is the alias `tag` with the ports `web`.
        assert!(Dst::new("tag:web").ports().unwrap().is_err());
        let bad = Dst::new("tag:web:ssh");
        assert_eq!(
            bad.ports().unwrap().unwrap_err(),
            "port range \"ssh\": invalid first integer"
        );
        assert!(bad.valid().is_none());
        // The alias is classified as it stands before the colon: a space is part of it.
        assert_eq!(
            Dst::new("tag:web :22").host().unwrap().alias(),
            &Alias::Tag("tag:web ".into())
        );
    }

    #[test]
    fn protocols_grant_ip_entries_and_ipset_entries_are_parsed_once() {
        assert_eq!(Proto::new(" icmp ").protos().unwrap(), [ICMP, ICMPV6]);
        assert_eq!(
            Proto::new("bogus").protos().unwrap_err(),
            "proto \"bogus\": unknown protocol"
        );
        assert_eq!(IpEntry::new("tcp:443").spec().unwrap().protos, vec![6]);
        assert!(IpEntry::new("icmp:22").spec().is_err());
        let remove = IpsetEntry::new("remove  10.0.0.0/8 ");
        assert!(remove.removes());
        assert_eq!(remove.selector().as_str(), "10.0.0.0/8");
        let add = IpsetEntry::new("add ipset:other");
        assert!(!add.removes());
        assert_eq!(add.selector().alias(), &Alias::Ipset("ipset:other".into()));
        assert!(!IpsetEntry::new("10.1.0.0/16").removes());
    }

    #[test]
    fn capability_names_are_classified_once() {
        let relay = CapName::new("tailscale.com/cap/relay");
        assert!(relay.is_well_formed() && relay.is_relay());
        assert_eq!(relay.tailscale(), Some(TailscaleCap::Grantable));
        assert_eq!(
            CapName::new("tailscale.com/cap/relay-target").tailscale(),
            Some(TailscaleCap::Rejected)
        );
        assert_eq!(
            CapName::new("tailscale.com/cap/relayy").tailscale(),
            Some(TailscaleCap::Unknown)
        );
        let custom = CapName::new("example.com/cap/x");
        assert!(custom.is_well_formed() && !custom.is_relay());
        assert_eq!(custom.tailscale(), None);
        for bad in [
            "https://example.com/cap",
            "example/cap",
            "example.com/",
            "nodomain",
        ] {
            assert!(!CapName::new(bad).is_well_formed(), "{bad}");
        }
        assert!(!CapName::new("Tailscale.com/cap/relay").is_relay());
    }
}
