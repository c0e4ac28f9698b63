//! Ports, protocols and grant `ip` entries, with the control plane's messages.

use crate::vocab::{has_ports, ICMP, ICMPV6, PROTOCOLS};
use std::fmt;

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
pub(crate) fn parse_ports(s: &str) -> Result<Vec<PortRange>, String> {
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
pub(crate) fn split_acl_dst(s: &str) -> Option<(&str, &str)> {
    s.rsplit_once(':')
}

/// The protocol a name or IANA number (1-255) stands for. `icmp` stands for both ICMP and
/// ICMPv6.
pub(crate) fn parse_proto(s: &str) -> Result<Vec<u8>, String> {
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
pub(crate) fn parse_grant_ip(s: &str) -> Result<IpSpec, String> {
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
    fn acl_destinations_split_at_the_last_colon() {
        assert_eq!(split_acl_dst("tag:web:443"), Some(("tag:web", "443")));
        assert_eq!(split_acl_dst("fd7a::1:22"), Some(("fd7a::1", "22")));
    }
}
