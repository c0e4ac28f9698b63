//! The small languages inside policy strings: aliases (`tag:x`, `group:y`, e-mails, hosts,
//! CIDRs...), `alias:ports` destinations, port ranges and IP protocols.
//!
//! Errors are returned as the control plane's own message, so that callers can put it in a
//! diagnostic verbatim.

use crate::vocab::{has_ports, tailscale_cap, TailscaleCap, ICMP, ICMPV6, PROTOCOLS, RELAY_CAP};
use ipnet::IpNet;
use std::fmt;
use std::net::IpAddr;

/// What a selector string names, by its syntax alone (whether it exists is checked later).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Alias {
    /// `*`: every node and approved route.
    Wildcard,
    /// A user by login, e.g. `alice@example.com` (or `alice@github`).
    User(String),
    /// `user:*@domain` (and `*@domain`): every user of that domain; holds the domain.
    UserDomain(String),
    /// `group:x` (full text kept).
    Group(String),
    /// `tag:x` (full text kept).
    Tag(String),
    /// `autogroup:x` (full text kept).
    Autogroup(String),
    /// `ipset:x` (full text kept).
    Ipset(String),
    /// `svc:x`, a Tailscale service (full text kept).
    Service(String),
    /// An IP address or CIDR. A bare address is a /32 or /128.
    Prefix(IpNet),
    /// Anything else: a name that must be a key of `hosts`.
    Host(String),
}

/// Classifies a selector string.
pub fn parse_alias(s: &str) -> Alias {
    if s == "*" {
        return Alias::Wildcard;
    }
    // `autogroup:members` is the name Tailscale's documentation gave `autogroup:member`
    // until 2023 (quoted in tailscale/tailscale#4416 and #8890, juanfont/headscale#657);
    // policies kept in Git still use it, so it is read as the current name.
    if s == "autogroup:members" {
        return Alias::Autogroup("autogroup:member".to_string());
    }
    for (prefix, make) in [
        ("group:", Alias::Group as fn(String) -> Alias),
        ("tag:", Alias::Tag),
        ("autogroup:", Alias::Autogroup),
        ("ipset:", Alias::Ipset),
        ("svc:", Alias::Service),
    ] {
        if s.starts_with(prefix) {
            return make(s.to_string());
        }
    }
    if let Some(domain) = s.strip_prefix("user:*@").or_else(|| s.strip_prefix("*@")) {
        return Alias::UserDomain(domain.to_string());
    }
    if s.contains('@') {
        return Alias::User(s.strip_prefix("user:").unwrap_or(s).to_string());
    }
    if let Ok(net) = s.parse::<IpNet>() {
        return Alias::Prefix(net);
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Alias::Prefix(IpNet::from(ip));
    }
    Alias::Host(s.to_string())
}

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

impl std::ops::Deref for Selector {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

/// Shows the text as written, quoted as a string is: messages quote a value with `{:?}`.
impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
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

/// Shows the text as written, quoted as a string is: messages quote a value with `{:?}`.
impl fmt::Debug for Dst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl fmt::Display for Dst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::ops::Deref for Dst {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
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

/// Shows the text as written, quoted as a string is: messages quote a value with `{:?}`.
impl fmt::Debug for CapName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl fmt::Display for CapName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::ops::Deref for CapName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
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

/// Shows the text as written, quoted as a string is: messages quote a value with `{:?}`.
impl fmt::Debug for IpsetEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl std::ops::Deref for IpsetEntry {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

/// Shows the text as written, quoted as a string is: messages quote a value with `{:?}`.
impl fmt::Debug for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::ops::Deref for Proto {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
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

/// Shows the text as written, quoted as a string is: messages quote a value with `{:?}`.
impl fmt::Debug for IpEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl fmt::Display for IpEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::ops::Deref for IpEntry {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

/// An inclusive range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    /// First port.
    pub first: u16,
    /// Last port (inclusive).
    pub last: u16,
}

impl PortRange {
    /// Every port, `*`.
    pub const ALL: Self = Self {
        first: 0,
        last: 65535,
    };

    /// True when `port` is in the range.
    pub const fn contains(&self, port: u16) -> bool {
        self.first <= port && port <= self.last
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::ALL {
            f.write_str("*")
        } else if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// Parses a port list: `*`, `22`, `80-443`, or a comma-separated list of those.
pub fn parse_ports(s: &str) -> Result<Vec<PortRange>, String> {
    s.split(',').map(parse_port_range).collect()
}

fn parse_port_range(s: &str) -> Result<PortRange, String> {
    if s == "*" {
        return Ok(PortRange::ALL);
    }
    let (first, last) = match s.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let first: u16 =
        parse_port(first).ok_or_else(|| format!("port range {s:?}: invalid first integer"))?;
    let last: u16 = match last {
        Some(l) => {
            parse_port(l).ok_or_else(|| format!("port range {s:?}: invalid last integer"))?
        }
        None => first,
    };
    if first == 0 {
        return Err(format!(
            "port range {s:?}: first port must be >0, or use '*' for wildcard"
        ));
    }
    if last < first {
        return Err(format!("port range {s:?}: last port must be >= first port"));
    }
    Ok(PortRange { first, last })
}

fn parse_port(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Splits an ACL destination `alias:ports` at its last colon.
pub fn split_acl_dst(s: &str) -> Option<(&str, &str)> {
    s.rsplit_once(':')
}

/// The protocol a name or IANA number (1-255) stands for. `icmp` stands for both ICMP and
/// ICMPv6.
pub fn parse_proto(s: &str) -> Result<Vec<u8>, String> {
    let lower = s.to_ascii_lowercase();
    if let Some((_, n)) = PROTOCOLS.iter().find(|(name, _)| *name == lower) {
        return Ok(if *n == ICMP {
            vec![ICMP, ICMPV6]
        } else {
            vec![*n]
        });
    }
    match s.parse::<u16>() {
        Ok(n @ 1..=255) => Ok(vec![u8::try_from(n).unwrap_or(0)]),
        _ => Err(format!("proto {s:?}: unknown protocol")),
    }
}

/// One entry of a grant's `ip` list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IpSpec {
    /// Protocol numbers; empty means Tailscale's default (TCP, UDP, ICMP, ICMPv6).
    pub protos: Vec<u8>,
    /// Ports.
    pub ports: Vec<PortRange>,
}

/// Parses a grant `ip` entry: `*`, `22`, `80-443`, `tcp:22`, `udp:53`, `icmp:*`, `6:22`.
pub fn parse_grant_ip(s: &str) -> Result<IpSpec, String> {
    match s.split_once(':') {
        None => Ok(IpSpec {
            protos: Vec::new(),
            ports: parse_ports(s)?,
        }),
        Some((proto, ports)) => {
            let protos = parse_proto(proto)?;
            let ports = parse_ports(ports)?;
            if !protos.iter().copied().any(has_ports) && ports != [PortRange::ALL] {
                return Err(format!("proto {proto:?} has no ports: use \"{proto}:*\""));
            }
            Ok(IpSpec { protos, ports })
        }
    }
}

/// Parses one concrete port to ask about: `tcp:443`, `udp:53`, a bare port (TCP), or a
/// protocol without ports (`icmp`, answered with port 0). Returns the protocols (`icmp`
/// stands for ICMP and ICMPv6) and the port.
pub fn parse_port_query(s: &str) -> Result<(Vec<u8>, u16), String> {
    let bad = || {
        format!("`{s}` must be `proto:port` (`tcp:443`, `udp:53`), a port, or a protocol without ports (`icmp`)")
    };
    let (proto, port) = match s.split_once(':') {
        Some((p, n)) => (p, Some(n)),
        None if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => ("tcp", Some(s)),
        None => (s, None),
    };
    let protos = parse_proto(proto).map_err(|_| bad())?;
    match (protos.iter().copied().any(has_ports), port) {
        (true, Some(n)) => match parse_port(n) {
            Some(p) if p > 0 => Ok((protos, p)),
            _ => Err(bad()),
        },
        (false, None) => Ok((protos, 0)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_classified_by_syntax() {
        assert_eq!(parse_alias("*"), Alias::Wildcard);
        assert_eq!(parse_alias("tag:web"), Alias::Tag("tag:web".into()));
        assert_eq!(parse_alias("a@b.com"), Alias::User("a@b.com".into()));
        assert_eq!(
            parse_alias("user:*@b.com"),
            Alias::UserDomain("b.com".into())
        );
        assert_eq!(
            parse_alias("10.0.0.0/8"),
            Alias::Prefix("10.0.0.0/8".parse().unwrap())
        );
        assert_eq!(
            parse_alias("fd7a::1"),
            Alias::Prefix("fd7a::1/128".parse().unwrap())
        );
        assert_eq!(parse_alias("prod"), Alias::Host("prod".into()));
    }

    #[test]
    fn ports_and_their_errors_use_the_control_plane_wording() {
        assert_eq!(parse_ports("22,80-443").unwrap().len(), 2);
        assert_eq!(parse_ports("*").unwrap(), vec![PortRange::ALL]);
        assert_eq!(
            parse_ports("ssh").unwrap_err(),
            "port range \"ssh\": invalid first integer"
        );
        assert_eq!(
            parse_ports("0").unwrap_err(),
            "port range \"0\": first port must be >0, or use '*' for wildcard"
        );
        assert!(parse_ports("65536").is_err());
        assert!(parse_ports("90-80").is_err());
    }

    #[test]
    fn grant_ip_entries() {
        assert_eq!(parse_grant_ip("tcp:443").unwrap().protos, vec![6]);
        assert_eq!(parse_grant_ip("icmp:*").unwrap().protos, vec![1, 58]);
        assert_eq!(
            parse_grant_ip("icmp").unwrap_err(),
            "port range \"icmp\": invalid first integer"
        );
        assert!(parse_grant_ip("icmp:22").is_err());
        assert!(parse_grant_ip("256:*").is_err());
        assert_eq!(parse_grant_ip("47:*").unwrap().protos, vec![47]);
    }

    #[test]
    fn port_queries() {
        assert_eq!(parse_port_query("tcp:443").unwrap(), (vec![6], 443));
        assert_eq!(parse_port_query("22").unwrap(), (vec![6], 22));
        assert_eq!(parse_port_query("icmp").unwrap(), (vec![1, 58], 0));
        for bad in ["tcp:*", "tcp:0", "udp", "icmp:5", "", "tcp:80-90"] {
            assert!(parse_port_query(bad).is_err(), "{bad}");
        }
    }

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

    #[test]
    fn acl_destinations_split_at_the_last_colon() {
        assert_eq!(split_acl_dst("tag:web:443"), Some(("tag:web", "443")));
        assert_eq!(split_acl_dst("fd7a::1:22"), Some(("fd7a::1", "22")));
    }
}
