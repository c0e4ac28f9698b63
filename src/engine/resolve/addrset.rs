//! Sets of IP addresses as sorted, merged ranges, written the way Tailscale writes them.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An inclusive range of addresses of one family, as integers.
type Range = (u128, u128);

/// A set of IPv4 and IPv6 addresses, kept as sorted, disjoint, non-adjacent ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct AddrSet {
    v4: Vec<Range>,
    v6: Vec<Range>,
}

fn net_range(net: &IpNet) -> (bool, Range) {
    match net {
        IpNet::V4(n) => (
            true,
            (
                u128::from(u32::from(n.network())),
                u128::from(u32::from(n.broadcast())),
            ),
        ),
        IpNet::V6(n) => (false, (u128::from(n.network()), u128::from(n.broadcast()))),
    }
}

fn addr_key(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(a) => (true, u128::from(u32::from(a))),
        IpAddr::V6(a) => (false, u128::from(a)),
    }
}

fn to_addr(v4: bool, n: u128) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(u32::try_from(n).unwrap_or(u32::MAX)))
    } else {
        IpAddr::V6(Ipv6Addr::from(n))
    }
}

fn insert(ranges: &mut Vec<Range>, (lo, hi): Range) {
    // Ranges that touch or overlap `lo..=hi` are merged with it.
    let i = ranges.partition_point(|r| r.1.saturating_add(1) < lo);
    let j = ranges.partition_point(|r| r.0 <= hi.saturating_add(1));
    match (ranges.get(i), j.checked_sub(1).and_then(|k| ranges.get(k))) {
        (Some(first), Some(last)) if i < j => {
            let merged = (lo.min(first.0), hi.max(last.1));
            ranges.splice(i..j, [merged]);
        }
        _ => ranges.insert(i.min(ranges.len()), (lo, hi)),
    }
}

/// Sorts ranges and merges those that touch or overlap.
fn normalize(ranges: &mut Vec<Range>) {
    ranges.sort_unstable();
    let mut out: Vec<Range> = Vec::with_capacity(ranges.len());
    for &(lo, hi) in ranges.iter() {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    *ranges = out;
}

/// Few ranges are inserted one by one; many are appended and the list normalized once
/// (inserting thousands of addresses one by one would move the list each time).
fn add_all(ranges: &mut Vec<Range>, more: &[Range]) {
    if more.len() <= 4 {
        for &r in more {
            insert(ranges, r);
        }
    } else {
        ranges.extend_from_slice(more);
        normalize(ranges);
    }
}

fn remove(ranges: &mut Vec<Range>, (lo, hi): Range) {
    let mut out = Vec::with_capacity(ranges.len() + 1);
    for &(a, b) in ranges.iter() {
        if b < lo || a > hi {
            out.push((a, b));
            continue;
        }
        if a < lo {
            out.push((a, lo - 1));
        }
        if b > hi {
            out.push((hi + 1, b));
        }
    }
    *ranges = out;
}

/// The largest CIDR blocks that exactly cover `lo..=hi` in a space of `bits` bits.
fn range_prefixes(lo: u128, hi: u128, bits: u8) -> Vec<(u128, u8)> {
    let mut out = Vec::new();
    let mut cur = lo;
    loop {
        // Largest block aligned at `cur` that does not pass `hi`.
        let mut size_log = u32::from(bits).min(if cur == 0 { 128 } else { cur.trailing_zeros() });
        while size_log > 0 {
            let last = if size_log >= 128 {
                u128::MAX
            } else {
                cur | ((1u128 << size_log) - 1)
            };
            if last <= hi {
                break;
            }
            size_log -= 1;
        }
        let len = bits.saturating_sub(u8::try_from(size_log).unwrap_or(bits));
        out.push((cur, len));
        let last = if size_log >= 128 {
            u128::MAX
        } else {
            cur | ((1u128 << size_log) - 1)
        };
        if last >= hi {
            break;
        }
        cur = last + 1;
    }
    out
}

impl AddrSet {
    /// The empty set.
    pub(crate) const fn new() -> Self {
        Self {
            v4: Vec::new(),
            v6: Vec::new(),
        }
    }

    /// True when the set holds no address.
    pub(crate) fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Adds a prefix.
    pub(crate) fn add_net(&mut self, net: &IpNet) {
        let (v4, r) = net_range(&net.trunc());
        insert(if v4 { &mut self.v4 } else { &mut self.v6 }, r);
    }

    /// Adds one address.
    pub(crate) fn add_addr(&mut self, ip: IpAddr) {
        let (v4, n) = addr_key(ip);
        insert(if v4 { &mut self.v4 } else { &mut self.v6 }, (n, n));
    }

    /// Adds every address of `other`.
    pub(crate) fn add_set(&mut self, other: &Self) {
        add_all(&mut self.v4, &other.v4);
        add_all(&mut self.v6, &other.v6);
    }

    /// The set of these addresses, in any order.
    pub(crate) fn from_addrs(addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        let mut s = Self::new();
        for a in addrs {
            let (v4, n) = addr_key(a);
            if v4 { &mut s.v4 } else { &mut s.v6 }.push((n, n));
        }
        normalize(&mut s.v4);
        normalize(&mut s.v6);
        s
    }

    /// Removes a prefix.
    pub(crate) fn remove_net(&mut self, net: &IpNet) {
        let (v4, r) = net_range(&net.trunc());
        remove(if v4 { &mut self.v4 } else { &mut self.v6 }, r);
    }

    /// Removes every address of `other`.
    pub(crate) fn remove_set(&mut self, other: &Self) {
        for &r in &other.v4 {
            remove(&mut self.v4, r);
        }
        for &r in &other.v6 {
            remove(&mut self.v6, r);
        }
    }

    /// True when `ip` is in the set.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let (v4, n) = addr_key(ip);
        let ranges = if v4 { &self.v4 } else { &self.v6 };
        let i = ranges.partition_point(|r| r.1 < n);
        ranges.get(i).is_some_and(|r| r.0 <= n)
    }

    /// True when some address of `net` is in the set.
    pub(crate) fn overlaps_net(&self, net: &IpNet) -> bool {
        let (v4, (lo, hi)) = net_range(&net.trunc());
        let ranges = if v4 { &self.v4 } else { &self.v6 };
        let i = ranges.partition_point(|r| r.1 < lo);
        ranges.get(i).is_some_and(|r| r.0 <= hi)
    }

    /// True when the set holds every address of `net`.
    pub(crate) fn contains_net(&self, net: &IpNet) -> bool {
        let (v4, (lo, hi)) = net_range(&net.trunc());
        let ranges = if v4 { &self.v4 } else { &self.v6 };
        let i = ranges.partition_point(|r| r.1 < lo);
        ranges.get(i).is_some_and(|r| r.0 <= lo && hi <= r.1)
    }

    /// The ranges of one family as inclusive integer pairs, sorted and disjoint.
    pub(crate) fn family_ranges(&self, v4: bool) -> &[(u128, u128)] {
        if v4 {
            &self.v4
        } else {
            &self.v6
        }
    }

    /// The set as the fewest CIDR prefixes, IPv4 first.
    pub(crate) fn prefixes(&self) -> Vec<IpNet> {
        let mut out = Vec::new();
        for &(a, b) in &self.v4 {
            for (n, len) in range_prefixes(a, b, 32) {
                let addr = Ipv4Addr::from(u32::try_from(n).unwrap_or(u32::MAX));
                if let Ok(net) = Ipv4Net::new(addr, len) {
                    out.push(IpNet::V4(net));
                }
            }
        }
        for &(a, b) in &self.v6 {
            for (n, len) in range_prefixes(a, b, 128) {
                if let Ok(net) = Ipv6Net::new(Ipv6Addr::from(n), len) {
                    out.push(IpNet::V6(net));
                }
            }
        }
        out
    }

    /// The set written as Tailscale writes the sources of a rule: as prefixes, a single
    /// address bare.
    pub(crate) fn to_strings(&self) -> Vec<String> {
        self.to_prefix_strings()
    }

    /// The set written with ranges: a single address bare, a range that is exactly one
    /// prefix as a CIDR, a range that overlaps `ranged` as `first-last`, any other range as
    /// prefixes. Tailscale writes `*` (the CGNAT range without its hole) with ranges.
    pub(crate) fn to_range_strings(&self, ranged: &Self) -> Vec<String> {
        let mut out = Vec::new();
        for (v4, ranges) in [(true, &self.v4), (false, &self.v6)] {
            let bits = if v4 { 32 } else { 128 };
            let others = if v4 { &ranged.v4 } else { &ranged.v6 };
            for &(a, b) in ranges {
                if a == b {
                    out.push(to_addr(v4, a).to_string());
                    continue;
                }
                let blocks = range_prefixes(a, b, bits);
                let overlaps = others.iter().any(|&(x, y)| x <= b && a <= y);
                match blocks.as_slice() {
                    [(n, len)] => out.push(format!("{}/{len}", to_addr(v4, *n))),
                    _ if overlaps => {
                        out.push(format!("{}-{}", to_addr(v4, a), to_addr(v4, b)));
                    }
                    _ => {
                        for (n, len) in blocks {
                            if len == bits {
                                out.push(to_addr(v4, n).to_string());
                            } else {
                                out.push(format!("{}/{len}", to_addr(v4, n)));
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// The set as prefixes written as Tailscale writes `DstPorts` IPs: a single address bare,
    /// anything else as a CIDR.
    pub(crate) fn to_prefix_strings(&self) -> Vec<String> {
        self.prefixes().iter().map(net_string).collect()
    }
}

/// A prefix as Tailscale writes a destination: a single address bare, otherwise a CIDR.
pub(crate) fn net_string(net: &IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

impl FromIterator<IpNet> for AddrSet {
    fn from_iter<I: IntoIterator<Item = IpNet>>(iter: I) -> Self {
        let mut s = Self::new();
        for n in iter {
            let (v4, r) = net_range(&n.trunc());
            if v4 { &mut s.v4 } else { &mut s.v6 }.push(r);
        }
        normalize(&mut s.v4);
        normalize(&mut s.v6);
        s
    }
}

/// Parses one `SrcIPs` element (`*`, an address, a CIDR or a `first-last` range) into a set.
pub(crate) fn parse_wire_addrs(s: &str) -> Option<AddrSet> {
    let mut set = AddrSet::new();
    if s == "*" {
        set.add_net(&"0.0.0.0/0".parse().ok()?);
        set.add_net(&"::/0".parse().ok()?);
        return Some(set);
    }
    if let Some((a, b)) = s.split_once('-') {
        let (a, b): (IpAddr, IpAddr) = (a.parse().ok()?, b.parse().ok()?);
        let ((fa, na), (fb, nb)) = (addr_key(a), addr_key(b));
        if fa != fb || na > nb {
            return None;
        }
        insert(if fa { &mut set.v4 } else { &mut set.v6 }, (na, nb));
        return Some(set);
    }
    if let Ok(net) = s.parse::<IpNet>() {
        set.add_net(&net);
        return Some(set);
    }
    set.add_addr(s.parse().ok()?);
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn wildcard_is_written_as_tailscale_writes_it() {
        let mut s = AddrSet::new();
        s.add_net(&net("100.64.0.0/10"));
        s.remove_net(&net("100.115.92.0/23"));
        s.add_net(&net("fd7a:115c:a1e0::/48"));
        assert_eq!(
            s.to_range_strings(&s),
            [
                "100.64.0.0-100.115.91.255",
                "100.115.94.0-100.127.255.255",
                "fd7a:115c:a1e0::/48"
            ]
        );
        assert!(s.contains("100.64.0.1".parse().unwrap()));
        assert!(!s.contains("100.115.92.7".parse().unwrap()));
    }

    #[test]
    fn prefixes_cover_ranges_exactly() {
        let mut s = AddrSet::new();
        s.add_addr("10.0.0.1".parse().unwrap());
        s.add_addr("10.0.0.2".parse().unwrap());
        s.add_addr("10.0.0.3".parse().unwrap());
        assert_eq!(s.to_range_strings(&s), ["10.0.0.1-10.0.0.3"]);
        assert_eq!(s.to_strings(), ["10.0.0.1", "10.0.0.2/31"]);
        let p: Vec<String> = s.prefixes().iter().map(ToString::to_string).collect();
        assert_eq!(p, ["10.0.0.1/32", "10.0.0.2/31"]);
        assert_eq!(s.to_prefix_strings(), ["10.0.0.1", "10.0.0.2/31"]);
        let all: AddrSet = [net("0.0.0.0/0"), net("::/0")].into_iter().collect();
        assert_eq!(all.to_strings(), ["0.0.0.0/0", "::/0"]);
    }

    #[test]
    fn wire_addresses_parse() {
        let s = parse_wire_addrs("100.64.0.0-100.115.91.255").unwrap();
        assert!(s.contains("100.100.0.1".parse().unwrap()));
        assert!(parse_wire_addrs("*")
            .unwrap()
            .contains("1.1.1.1".parse().unwrap()));
        assert!(parse_wire_addrs("nonsense").is_none());
    }
}
