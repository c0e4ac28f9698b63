//! The names a policy defines (tags, groups, hosts, ipsets, postures), for lookups.

use crate::model::policy::Policy;
use ipnet::IpNet;
use std::collections::{HashMap, HashSet};

/// The names defined by a policy.
#[derive(Debug, Default)]
pub struct Names<'p> {
    /// Keys of `tagOwners`.
    pub tags: HashSet<&'p str>,
    /// Keys of `groups`.
    pub groups: HashSet<&'p str>,
    /// Keys of `hosts` with their prefix, when it parses.
    pub hosts: HashMap<&'p str, Option<IpNet>>,
    /// Keys of `ipsets`.
    pub ipsets: HashSet<&'p str>,
    /// Keys of `postures`.
    pub postures: HashSet<&'p str>,
}

impl<'p> Names<'p> {
    /// Collects the names `policy` defines.
    pub fn new(policy: &'p Policy) -> Self {
        Self {
            tags: policy.tag_owners.iter().map(|(k, _)| k.as_str()).collect(),
            groups: policy.groups.iter().map(|(k, _)| k.as_str()).collect(),
            hosts: policy
                .hosts
                .iter()
                .map(|(k, v)| (k.as_str(), parse_prefix(v)))
                .collect(),
            ipsets: policy.ipsets.iter().map(|(k, _)| k.as_str()).collect(),
            postures: policy.postures.iter().map(|(k, _)| k.as_str()).collect(),
        }
    }
}

/// An IP (as a /32 or /128) or a CIDR.
pub fn parse_prefix(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}
