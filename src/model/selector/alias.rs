//! Aliases: what a selector string names, by its syntax alone.

use ipnet::IpNet;
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
pub(crate) fn parse_alias(s: &str) -> Alias {
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
}
