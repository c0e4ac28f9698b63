//! The regular expressions of the small languages inside the policy's strings (selectors,
//! ports, protocols, addresses, tags, check periods), as the schema's patterns use them.

/// A selector without the surrounding spaces: `*`, a tag, an autogroup, a group, an ipset,
/// a service, a user or `user:*@domain`, an IP or CIDR, or a host name from `hosts`.
pub(super) const SELECTOR: &str = concat!(
    r"(?:\*",
    r"|tag:[A-Za-z][A-Za-z0-9-]*",
    r"|autogroup:[a-z][a-z0-9-]*",
    r"|(?:group|ipset|svc):.+",
    r"|(?:user:)?[^@:]*@[^@:]*",
    r"|\[?[0-9A-Fa-f:.]+(?:/[0-9]{1,3})?\]?",
    r"|[^@:]+)",
);

/// A port list: `*`, `22`, `80-443`, or a comma-separated list of those.
pub(super) const PORTS: &str = r"(?:\*|[0-9]+(?:-[0-9]+)?)(?:,(?:\*|[0-9]+(?:-[0-9]+)?))*";

/// An IP protocol: a name (`tcp`, `udp`, `icmp`...) or an IANA number.
pub(super) const PROTO: &str = r"(?:[A-Za-z][A-Za-z0-9-]*|[0-9]{1,3})";

/// An IP address or a CIDR, IPv4 or IPv6.
pub(super) const PREFIX: &str = r"^\s*[0-9A-Fa-f:.]+(?:/[0-9]{1,3})?\s*$";

/// A tag as `tagOwners` defines it: a letter after `tag:`, then letters, digits, dashes.
pub(super) const TAG: &str = "tag:[A-Za-z][A-Za-z0-9-]*";

/// A Go duration (`12h`, `30m`, `1h30m`, `90s`) or `always`.
pub(super) const CHECK_PERIOD: &str = concat!(
    r"^\s*(?:always|\+?(?:0|(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)",
    r"(?:ns|us|µs|μs|ms|s|m|h))+))\s*$",
);
