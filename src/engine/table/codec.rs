//! The table's binary form: `TGDT` magic, format version, payload length, CRC-32 of the
//! payload, then the payload (little-endian integers, length-prefixed lists and strings).

use super::{Answer, DecisionTable, IntervalMap, NodeEntry, NodePolicy, RouteMap};
use crate::span::Span;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const MAGIC: &[u8; 4] = b"TGDT";
/// Version of the binary form; bumped whenever the layout changes.
pub(crate) const FORMAT_VERSION: u16 = 4;
const HEADER: usize = 4 + 2 + 8 + 4;

/// A table file that cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// Not a decision table at all.
    #[error("not a tailgrant decision table (bad magic)")]
    Foreign,
    /// Written by another version of the format.
    #[error("decision table format version {found} is not supported (expected {FORMAT_VERSION})")]
    Version {
        /// The version in the file.
        found: u16,
    },
    /// Cut short or with trailing bytes.
    #[error("decision table is truncated or has trailing bytes")]
    Length,
    /// The checksum does not match: the file is damaged.
    #[error("decision table is damaged (checksum mismatch)")]
    Checksum,
    /// The payload does not decode.
    #[error("decision table payload is malformed")]
    Malformed,
}

/// CRC-32 (IEEE), bitwise: small, and fast enough for a file loaded once per reload.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let m = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & m);
        }
    }
    !crc
}

#[derive(Default)]
struct W(Vec<u8>);

impl W {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend(v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend(v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend(v.to_le_bytes());
    }
    fn u128(&mut self, v: u128) {
        self.0.extend(v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend(s.as_bytes());
    }
    fn opt_u32(&mut self, v: Option<u32>) {
        self.u32(v.unwrap_or(u32::MAX));
    }
    fn ip(&mut self, ip: IpAddr) {
        match ip {
            IpAddr::V4(a) => {
                self.u8(4);
                self.u32(u32::from(a));
            }
            IpAddr::V6(a) => {
                self.u8(6);
                self.u128(u128::from(a));
            }
        }
    }
    fn imap(&mut self, m: &IntervalMap) {
        self.len(m.starts.len());
        for (s, v) in m.starts.iter().zip(&m.values) {
            self.u128(*s);
            self.u32(*v);
        }
    }
}

struct R<'a>(&'a [u8]);

impl R<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], TableError> {
        if self.0.len() < n {
            return Err(TableError::Malformed);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], TableError> {
        self.take(N)?.try_into().map_err(|_| TableError::Malformed)
    }
    fn u8(&mut self) -> Result<u8, TableError> {
        Ok(self.arr::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, TableError> {
        Ok(u16::from_le_bytes(self.arr()?))
    }
    fn u32(&mut self) -> Result<u32, TableError> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
    fn u64(&mut self) -> Result<u64, TableError> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    fn u128(&mut self) -> Result<u128, TableError> {
        Ok(u128::from_le_bytes(self.arr()?))
    }
    fn len(&mut self) -> Result<usize, TableError> {
        let n = usize::try_from(self.u64()?).map_err(|_| TableError::Malformed)?;
        // Every element takes at least one byte: a larger count is a damaged file.
        if n > self.0.len() {
            return Err(TableError::Malformed);
        }
        Ok(n)
    }
    fn str(&mut self) -> Result<String, TableError> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| TableError::Malformed)
    }
    fn opt_u32(&mut self) -> Result<Option<u32>, TableError> {
        let v = self.u32()?;
        Ok((v != u32::MAX).then_some(v))
    }
    fn ip(&mut self) -> Result<IpAddr, TableError> {
        match self.u8()? {
            4 => Ok(IpAddr::V4(Ipv4Addr::from(self.u32()?))),
            6 => Ok(IpAddr::V6(Ipv6Addr::from(self.u128()?))),
            _ => Err(TableError::Malformed),
        }
    }
    fn list<T>(
        &mut self,
        mut f: impl FnMut(&mut Self) -> Result<T, TableError>,
    ) -> Result<Vec<T>, TableError> {
        let n = self.len()?;
        (0..n).map(|_| f(self)).collect()
    }
    fn imap(&mut self) -> Result<IntervalMap, TableError> {
        let pairs = self.list(|r| Ok((r.u128()?, r.u32()?)))?;
        let (starts, values) = pairs.into_iter().unzip();
        Ok(IntervalMap { starts, values })
    }
}

impl DecisionTable {
    /// The table in its versioned, checksummed binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = W::default();
        w.len(self.strings.len());
        for s in &self.strings {
            w.str(s);
        }
        w.len(self.spans.len());
        for s in &self.spans {
            w.u64(s.start as u64);
            w.u64(s.end as u64);
        }
        w.len(self.answers.len());
        for a in &self.answers {
            w.len(a.ports.len());
            for (p, f, l) in &a.ports {
                w.u8(*p);
                w.u16(*f);
                w.u16(*l);
            }
            w.len(a.caps.len());
            for (n, v, o) in &a.caps {
                w.u32(*n);
                w.str(v);
                w.len(o.len());
                o.iter().for_each(|x| w.u32(*x));
            }
            w.len(a.origins.len());
            a.origins.iter().for_each(|x| w.u32(*x));
        }
        w.len(self.policies.len());
        for p in &self.policies {
            w.len(p.classes.len());
            for (c, a) in p.classes.iter().zip(&p.answers) {
                w.u32(*c);
                w.u32(*a);
            }
        }
        for m in &self.sources {
            w.imap(m);
        }
        w.len(self.nodes.len());
        for n in &self.nodes {
            w.str(&n.name);
            w.len(n.addrs.len());
            n.addrs.iter().for_each(|a| w.ip(*a));
            w.len(n.tags.len());
            n.tags.iter().for_each(|t| w.u32(*t));
            w.opt_u32(n.user);
            w.u32(n.policy);
            n.addr_policy.iter().for_each(|p| w.u32(*p));
            w.u32(n.src_class);
            w.opt_u32(n.relay_disabled_by);
            w.u8(u8::from(n.relay_disabled_in_tailnet));
            w.u32(n.relay_port.map_or(u32::MAX, u32::from));
        }
        w.len(self.routes.len());
        for rm in &self.routes {
            w.u32(rm.router);
            w.ip(rm.net.addr());
            w.u8(rm.net.prefix_len());
            w.imap(&rm.segments);
        }
        let payload = w.0;
        let mut out = Vec::with_capacity(HEADER + payload.len());
        out.extend(MAGIC);
        out.extend(FORMAT_VERSION.to_le_bytes());
        out.extend((payload.len() as u64).to_le_bytes());
        out.extend(crc32(&payload).to_le_bytes());
        out.extend(payload);
        out
    }

    /// Loads a table written by [`DecisionTable::to_bytes`]; damaged, truncated or foreign
    /// input is an error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TableError> {
        let mut h = R(bytes);
        if h.take(4).map_err(|_| TableError::Foreign)? != MAGIC {
            return Err(TableError::Foreign);
        }
        let version = h.u16().map_err(|_| TableError::Length)?;
        if version != FORMAT_VERSION {
            return Err(TableError::Version { found: version });
        }
        let len = h.u64().map_err(|_| TableError::Length)?;
        let sum = h.u32().map_err(|_| TableError::Length)?;
        if usize::try_from(len).ok() != Some(h.0.len()) {
            return Err(TableError::Length);
        }
        if crc32(h.0) != sum {
            return Err(TableError::Checksum);
        }
        let mut r = R(h.0);
        let strings = r.list(R::str)?;
        let spans = r.list(|r| {
            let s = usize::try_from(r.u64()?).map_err(|_| TableError::Malformed)?;
            let e = usize::try_from(r.u64()?).map_err(|_| TableError::Malformed)?;
            Ok(Span::new(s, e))
        })?;
        let answers = r.list(|r| {
            Ok(Answer {
                ports: r.list(|r| Ok((r.u8()?, r.u16()?, r.u16()?)))?,
                caps: r.list(|r| Ok((r.u32()?, r.str()?, r.list(R::u32)?)))?,
                origins: r.list(R::u32)?,
            })
        })?;
        let policies = r.list(|r| {
            let pairs = r.list(|r| Ok((r.u32()?, r.u32()?)))?;
            let (classes, answers): (Vec<u32>, Vec<u32>) = pairs.into_iter().unzip();
            Ok(NodePolicy { classes, answers })
        })?;
        let sources = [r.imap()?, r.imap()?];
        let nodes = r.list(|r| {
            Ok(NodeEntry {
                name: r.str()?,
                addrs: r.list(R::ip)?,
                tags: r.list(R::u32)?,
                user: r.opt_u32()?,
                policy: r.u32()?,
                addr_policy: [r.u32()?, r.u32()?],
                src_class: r.u32()?,
                relay_disabled_by: r.opt_u32()?,
                relay_disabled_in_tailnet: r.u8()? != 0,
                relay_port: u16::try_from(r.u32()?).ok(),
            })
        })?;
        let routes = r.list(|r| {
            let router = r.u32()?;
            let addr = r.ip()?;
            let net = IpNet::new(addr, r.u8()?).map_err(|_| TableError::Malformed)?;
            Ok(RouteMap {
                router,
                net,
                segments: r.imap()?,
            })
        })?;
        if !r.0.is_empty() {
            return Err(TableError::Malformed);
        }
        // Indexes must point inside the table.
        let ok = nodes.iter().all(|n| {
            (n.policy as usize) < policies.len()
                && n.addr_policy
                    .iter()
                    .all(|p| *p == u32::MAX || (*p as usize) < policies.len())
        }) && policies.iter().all(|p| {
            p.answers.iter().all(|a| (*a as usize) < answers.len())
                && p.classes.windows(2).all(|w| w[0] < w[1])
        }) && sources.iter().all(IntervalMap::is_sorted)
            && routes.windows(2).all(|w| w[0].router <= w[1].router)
            && routes.iter().all(|rm| {
                (rm.router as usize) < nodes.len()
                    && rm.segments.is_sorted()
                    && rm
                        .segments
                        .values
                        .iter()
                        .all(|p| *p == u32::MAX || (*p as usize) < policies.len())
            });
        if !ok {
            return Err(TableError::Malformed);
        }
        Ok(Self::assemble(
            strings, spans, answers, policies, nodes, routes, sources,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_ieee_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn only_the_current_version_loads() {
        let bytes = DecisionTable::default().to_bytes();
        assert!(DecisionTable::from_bytes(&bytes).is_ok());
        for v in [FORMAT_VERSION - 1, FORMAT_VERSION + 1] {
            let mut other = bytes.clone();
            other[4..6].copy_from_slice(&v.to_le_bytes());
            assert_eq!(
                DecisionTable::from_bytes(&other),
                Err(TableError::Version { found: v })
            );
        }
    }

    #[test]
    fn route_segments_are_written_in_the_layout_of_version_4() {
        // Count, then (start as u128, policy as u32) per segment, as version 4 wrote them.
        let net: IpNet = "10.0.0.0/8"
            .parse()
            .unwrap_or(IpNet::V4(Default::default()));
        let mut rm = RouteMap::new(0, net);
        let start = u128::from(10u32 << 24);
        rm.push(start, 3);
        rm.push(start + 256, 3);
        rm.push(start + 512, u32::MAX);
        let mut w = W::default();
        w.imap(&rm.segments);
        let mut want = Vec::new();
        want.extend(2u64.to_le_bytes());
        want.extend(start.to_le_bytes());
        want.extend(3u32.to_le_bytes());
        want.extend((start + 512).to_le_bytes());
        want.extend(u32::MAX.to_le_bytes());
        assert_eq!(FORMAT_VERSION, 4);
        assert_eq!(w.0, want);
        assert_eq!(R(&want).imap(), Ok(rm.segments));
    }
}
