//! The addresses a relay advertises in its allocation responses.
//!
//! A response without an address is useless: Tailscale's decoder rejects it
//! (`UDPRelayEndpoint.decode` in `disco/disco.go`) and its server answers no
//! allocation before it has one (`ErrServerNotReady` in
//! `net/udprelay/server.go`). A relay bound to a specific address advertises
//! that address; one bound to a wildcard address (`0.0.0.0`, `[::]`)
//! advertises the machine's interface addresses with the bound port, chosen
//! as Tailscale's `netmon.LocalAddresses` (`net/netmon/state.go`) chooses
//! them, and looks again every 20 to 26 seconds as its `addrDiscoveryLoop`
//! does. Static endpoints (a relay behind NAT or a load balancer) come first
//! and, when given, replace the discovery: the operator has named where
//! clients reach the relay. (Tailscale's relay also asks STUN servers via
//! DERP and cloud metadata for public addresses; with no DERP map and no
//! network access assumed, this relay does not.)

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// One address of one network interface, as the system lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InterfaceAddress {
    /// The interface's name (`eth0`).
    pub(crate) interface: String,
    /// Whether the interface is up.
    pub(crate) up: bool,
    /// Whether it is a loopback interface.
    pub(crate) loopback: bool,
    /// The address.
    pub(crate) ip: IpAddr,
    /// The length of its subnet's prefix.
    pub(crate) prefix_len: u8,
}

/// The interval before the next discovery: 20 to 26 s, as Tailscale's
/// `addrDiscoveryLoop` waits between two (`u` uniform in `[0, 1)`).
pub(crate) fn next_discovery(u: f64) -> Duration {
    Duration::from_secs_f64(20.0 + 6.0 * u.clamp(0.0, 1.0))
}

/// The machine's addresses to advertise, by `netmon.LocalAddresses`' rules
/// (`select`).
pub fn interface_addresses() -> io::Result<Vec<IpAddr>> {
    let listed = if_addrs::get_if_addrs()?;
    let addrs: Vec<InterfaceAddress> = listed
        .into_iter()
        .map(|i| {
            let (up, loopback) = flags(&i.name).unwrap_or((i.is_oper_up(), false));
            InterfaceAddress {
                up,
                loopback,
                ip: i.ip(),
                prefix_len: match &i.addr {
                    if_addrs::IfAddr::V4(a) => a.prefixlen,
                    if_addrs::IfAddr::V6(a) => a.prefixlen,
                },
                interface: i.name,
            }
        })
        .collect();
    Ok(select(&addrs))
}

/// `IFF_UP` and `IFF_LOOPBACK` of an interface, read from sysfs on Linux
/// (what Go's `net.Interface.Flags` reports); `None` elsewhere, where
/// `if-addrs`' running state stands for "up".
fn flags(interface: &str) -> Option<(bool, bool)> {
    if !cfg!(target_os = "linux") || interface.contains('/') {
        return None;
    }
    let text = std::fs::read_to_string(format!("/sys/class/net/{interface}/flags")).ok()?;
    let bits = u32::from_str_radix(text.trim().trim_start_matches("0x"), 16).ok()?;
    Some((bits & 0x1 != 0, bits & 0x8 != 0))
}

/// Tailscale's `netmon.LocalAddresses`, the regular addresses: interfaces
/// that are up and not ZeroTier (`zt*`) or NetBird (`wt0`); neither loopback
/// nor Tailscale addresses (100.64.0.0/10 outside 100.115.92.0/23,
/// fd7a:115c:a1e0::/48); no IPv6 link-local; at most two IPv6 addresses per
/// subnet of an interface; IPv4 link-local and IPv6 unique local addresses
/// only when there is nothing else. Sorted, IPv4 first.
pub(crate) fn select(addrs: &[InterfaceAddress]) -> Vec<IpAddr> {
    let (mut regular4, mut regular6, mut link_local4, mut ula6) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut per_subnet: HashMap<(&str, Ipv6Addr), usize> = HashMap::new();
    for a in addrs {
        let problematic = a.interface.starts_with("zt") || a.interface == "wt0";
        if !a.up || problematic {
            continue;
        }
        let ip = match a.ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        if is_tailscale(ip) || ip.is_loopback() || a.loopback {
            continue;
        }
        match ip {
            IpAddr::V4(v4) if v4.is_link_local() => link_local4.push(ip),
            IpAddr::V4(_) => regular4.push(ip),
            IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 => {}
            IpAddr::V6(v6) if v6.segments()[0] & 0xfe00 == 0xfc00 => ula6.push(ip),
            IpAddr::V6(v6) => {
                let subnet = mask6(v6, a.prefix_len);
                let seen = per_subnet
                    .entry((a.interface.as_str(), subnet))
                    .or_insert(0);
                if *seen < 2 {
                    regular6.push(ip);
                }
                *seen += 1;
            }
        }
    }
    if regular4.is_empty() && regular6.is_empty() {
        regular4 = link_local4;
        regular6 = ula6;
    }
    let mut all: Vec<IpAddr> = regular4.into_iter().chain(regular6).collect();
    all.sort();
    all.dedup();
    all
}

fn mask6(ip: Ipv6Addr, prefix_len: u8) -> Ipv6Addr {
    let bits = u128::from(ip);
    let mask = u128::MAX
        .checked_shl(128 - u32::from(prefix_len.min(128)))
        .unwrap_or(0);
    Ipv6Addr::from(bits & mask)
}

/// Tailscale's `tsaddr.IsTailscaleIP`.
fn is_tailscale(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            let cgnat = o[0] == 100 && o[1] & 0xc0 == 64;
            let chrome_os = o[0] == 100 && o[1] == 115 && o[2] & 0xfe == 92;
            cgnat && !chrome_os
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            s[0] == 0xfd7a && s[1] == 0x115c && s[2] == 0xa1e0
        }
    }
}

/// What a relay advertises, from its static endpoints and bound addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Advertised {
    static_endpoints: Vec<SocketAddr>,
    bound: Vec<SocketAddr>,
}

impl Advertised {
    /// For a relay with these static endpoints, bound to these addresses.
    pub(crate) fn new(static_endpoints: Vec<SocketAddr>, bound: Vec<SocketAddr>) -> Self {
        Self {
            static_endpoints,
            bound,
        }
    }

    /// Whether interface addresses are needed: a wildcard address is bound
    /// and no static endpoint is given.
    pub(crate) fn discovers(&self) -> bool {
        self.static_endpoints.is_empty() && self.bound.iter().any(|a| a.ip().is_unspecified())
    }

    /// The addresses to advertise, in order, without repeats: the static
    /// endpoints, then each bound address, a wildcard one standing for the
    /// `discovered` addresses of its family with its port (when
    /// [`discovers`](Self::discovers); otherwise for nothing).
    pub(crate) fn addresses(&self, discovered: &[IpAddr]) -> Vec<SocketAddr> {
        let mut out = self.static_endpoints.clone();
        let discovers = self.discovers();
        for bound in &self.bound {
            if !bound.ip().is_unspecified() {
                out.push(*bound);
            } else if discovers {
                out.extend(
                    discovered
                        .iter()
                        .filter(|ip| ip.is_ipv4() == bound.is_ipv4())
                        .map(|&ip| SocketAddr::new(ip, bound.port())),
                );
            }
        }
        let mut seen = Vec::with_capacity(out.len());
        out.retain(|a| {
            let new = !seen.contains(a);
            seen.push(*a);
            new
        });
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    fn ia(interface: &str, ip: &str, prefix_len: u8) -> InterfaceAddress {
        InterfaceAddress {
            interface: interface.into(),
            up: true,
            loopback: interface == "lo",
            ip: ip.parse().unwrap(),
            prefix_len,
        }
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    /// `(case, interface addresses, selected)`, after the rules and comments
    /// of `LocalAddresses` in Tailscale's `net/netmon/state.go`.
    #[test]
    fn interface_addresses_are_chosen_as_tailscales_local_addresses() {
        let mut down = ia("eth1", "198.51.100.9", 24);
        down.up = false;
        let mut on_loopback_interface = ia("lo", "192.0.2.77", 32);
        on_loopback_interface.loopback = true;
        let cases: Vec<(&str, Vec<InterfaceAddress>, Vec<IpAddr>)> = vec![
            (
                "loopback only: nothing",
                vec![ia("lo", "127.0.0.1", 8), ia("lo", "::1", 128)],
                vec![],
            ),
            (
                "regular v4 and v6, sorted v4 first",
                vec![
                    ia("eth0", "2001:db8::2", 64),
                    ia("eth0", "192.0.2.2", 24),
                    ia("eth0", "10.1.2.3", 8),
                ],
                ips(&["10.1.2.3", "192.0.2.2", "2001:db8::2"]),
            ),
            ("a down interface is skipped", vec![down], vec![]),
            (
                "any address of a loopback interface is skipped",
                vec![on_loopback_interface],
                vec![],
            ),
            (
                "ZeroTier and NetBird interfaces are skipped",
                vec![ia("zt0", "192.0.2.5", 24), ia("wt0", "192.0.2.6", 24)],
                vec![],
            ),
            (
                "Tailscale addresses are skipped, the ChromeOS VM range is not",
                vec![
                    ia("tailscale0", "100.101.102.103", 32),
                    ia("tailscale0", "fd7a:115c:a1e0::1", 128),
                    ia("eth0", "100.115.92.7", 23),
                ],
                ips(&["100.115.92.7"]),
            ),
            (
                "IPv6 link-local never; IPv4 link-local and ULA only as a last resort",
                vec![
                    ia("eth0", "fe80::1", 64),
                    ia("eth0", "169.254.1.2", 16),
                    ia("eth0", "fd00::2", 64),
                ],
                ips(&["169.254.1.2", "fd00::2"]),
            ),
            (
                "ULA and link-local are dropped beside a regular address",
                vec![
                    ia("eth0", "192.0.2.2", 24),
                    ia("eth0", "fd00::2", 64),
                    ia("eth0", "fe80::fc:ff:fe00:1", 64),
                    ia("eth0", "169.254.1.2", 16),
                ],
                ips(&["192.0.2.2"]),
            ),
            (
                "at most two IPv6 addresses per subnet of an interface",
                vec![
                    ia("eth0", "2001:db8:0:1::1", 64),
                    ia("eth0", "2001:db8:0:1::2", 64),
                    ia("eth0", "2001:db8:0:1::3", 64),
                    ia("eth0", "2001:db8:0:2::1", 64),
                    ia("eth1", "2001:db8:0:1::4", 64),
                ],
                ips(&[
                    "2001:db8:0:1::1",
                    "2001:db8:0:1::2",
                    "2001:db8:0:1::4",
                    "2001:db8:0:2::1",
                ]),
            ),
            (
                "an IPv4-mapped address is read as IPv4",
                vec![ia("eth0", "::ffff:192.0.2.9", 120)],
                ips(&["192.0.2.9"]),
            ),
        ];
        for (name, addrs, want) in cases {
            assert_eq!(select(&addrs), want, "{name}");
        }
    }

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn wildcard_listen_addresses_advertise_the_discovered_ones() {
        let discovered = ips(&["192.0.2.2", "2001:db8::2"]);
        // (static endpoints, bound, discovers, advertised)
        type Case = (Vec<SocketAddr>, Vec<SocketAddr>, bool, Vec<SocketAddr>);
        let cases: Vec<Case> = vec![
            (
                vec![],
                vec![sa("0.0.0.0:7777"), sa("[::]:7778")],
                true,
                vec![sa("192.0.2.2:7777"), sa("[2001:db8::2]:7778")],
            ),
            (
                vec![],
                vec![sa("127.0.0.1:7777")],
                false,
                vec![sa("127.0.0.1:7777")],
            ),
            (
                vec![sa("203.0.113.1:443")],
                vec![sa("0.0.0.0:7777")],
                false,
                vec![sa("203.0.113.1:443")],
            ),
            (
                vec![sa("127.0.0.1:7777")],
                vec![sa("127.0.0.1:7777"), sa("[::1]:7777")],
                false,
                vec![sa("127.0.0.1:7777"), sa("[::1]:7777")],
            ),
        ];
        for (statics, bound, discovers, want) in cases {
            let a = Advertised::new(statics, bound);
            assert_eq!(a.discovers(), discovers, "{a:?}");
            assert_eq!(a.addresses(&discovered), want, "{a:?}");
        }
        // Nothing discovered: nothing to advertise, the relay must not start.
        let wild = Advertised::new(vec![], vec![sa("0.0.0.0:7777"), sa("[::]:7777")]);
        assert_eq!(wild.addresses(&[]), vec![]);
    }

    #[test]
    fn discovery_waits_20_to_26_seconds() {
        assert_eq!(next_discovery(0.0), Duration::from_secs(20));
        assert_eq!(next_discovery(0.5), Duration::from_secs(23));
        assert_eq!(next_discovery(7.0), Duration::from_secs(26));
    }

    #[test]
    fn subnet_masks() {
        let ip: Ipv6Addr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        assert_eq!(mask6(ip, 64), "2001:db8:1:2::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(mask6(ip, 0), Ipv6Addr::UNSPECIFIED);
        assert_eq!(mask6(ip, 128), ip);
    }
}
