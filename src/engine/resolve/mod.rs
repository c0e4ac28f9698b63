//! Selectors to addresses and nodes, for one tailnet, as Tailscale's control plane resolves
//! them.
//!
//! A `Resolver` is built once per (policy, tailnet) pair; `Resolver::resolve` turns one
//! selector string (`tag:x`, `group:y`, an e-mail, `*`, a host alias, a CIDR, `ipset:z`...)
//! into an `AddrSet`. Identity selectors (users, groups, tags, autogroups) resolve to the
//! Tailscale addresses of the nodes they name; address selectors (hosts, CIDRs, ipsets)
//! resolve to exactly the addresses written.

mod addrset;
mod node_index;

pub(crate) use addrset::{net_string, parse_wire_addrs, AddrSet};
pub(crate) use node_index::{addr_key, NodeIndex, SubnetRoute};

use crate::model::names::Names;
use crate::model::policy::Policy;
use crate::model::selector::{parse_alias, Alias, Selector};
use crate::model::tailnet::{Node, Tailnet};
use crate::model::Dialect;
use ipnet::IpNet;
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::LazyLock;

/// A selector as prefixes and as wire strings, shared.
pub(crate) type Wire = (Rc<[IpNet]>, Rc<[String]>);

type WireCache = HashMap<String, Wire>;

/// A selector's prefixes with their wire notation as port-rule destinations, shared.
pub(crate) type Dests = Rc<[(IpNet, String)]>;

/// Index of a node in [`Resolver::nodes`] (the tailnet's nodes in name order).
pub(crate) type NodeId = usize;

/// Tailscale's CGNAT range, where node IPv4 addresses live.
pub(crate) const CGNAT: &str = "100.64.0.0/10";
/// The part of the CGNAT range that `*` leaves out (ChromeOS VMs).
pub(crate) const CGNAT_HOLE: &str = "100.115.92.0/23";
/// Tailscale's IPv6 range, where node IPv6 addresses live.
pub(crate) const TAILSCALE_ULA: &str = "fd7a:115c:a1e0::/48";

/// The addresses `*` stands for: CGNAT without its hole, and Tailscale's IPv6 range.
pub(crate) fn wildcard_addrs() -> AddrSet {
    let mut s = AddrSet::new();
    if let (Ok(cgnat), Ok(hole), Ok(ula)) = (
        CGNAT.parse::<IpNet>(),
        CGNAT_HOLE.parse::<IpNet>(),
        TAILSCALE_ULA.parse::<IpNet>(),
    ) {
        s.add_net(&cgnat);
        s.remove_net(&hole);
        s.add_net(&ula);
    }
    s
}

/// Every address, `0.0.0.0/0` and `::/0` (`autogroup:danger-all`).
pub(crate) fn all_addrs() -> AddrSet {
    ["0.0.0.0/0", "::/0"]
        .iter()
        .filter_map(|s| s.parse::<IpNet>().ok())
        .collect()
}

/// The public internet (`autogroup:internet`): every address but private, shared, loopback,
/// link-local, multicast and Tailscale ranges.
pub(crate) fn internet_addrs() -> AddrSet {
    let mut s = all_addrs();
    for n in [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/3",
        "::/3",
        "4000::/2",
        "8000::/1",
    ] {
        if let Ok(net) = n.parse::<IpNet>() {
            s.remove_net(&net);
        }
    }
    s
}

/// Headscale's `autogroup:internet`, `util.TheInternet` (`hscontrol/util/net.go`): every
/// IPv4 address and `2000::/3`, without the private ranges, the Tailscale ranges and the
/// link-local ones (`v2/types.go`, `AutoGroup.resolve`). Unlike Tailscale's it keeps
/// `0.0.0.0/8`, loopback and multicast.
pub(crate) fn headscale_internet_addrs() -> &'static AddrSet {
    static THE_INTERNET: LazyLock<AddrSet> = LazyLock::new(|| {
        let mut s = AddrSet::new();
        for (net, add) in [
            ("0.0.0.0/0", true),
            ("2000::/3", true),
            ("fc00::/7", false),
            ("10.0.0.0/8", false),
            ("172.16.0.0/12", false),
            ("192.168.0.0/16", false),
            (TAILSCALE_ULA, false),
            (CGNAT, false),
            ("fe80::/10", false),
            ("169.254.0.0/16", false),
        ] {
            if let Ok(net) = net.parse::<IpNet>() {
                if add {
                    s.add_net(&net);
                } else {
                    s.remove_net(&net);
                }
            }
        }
        s
    });
    &THE_INTERNET
}

/// True for the default routes `0.0.0.0/0` and `::/0`, which make a node an exit node.
pub(crate) fn is_exit_route(net: &IpNet) -> bool {
    net.prefix_len() == 0
}

/// Resolves selectors against one tailnet.
#[derive(Debug)]
pub(crate) struct Resolver<'a> {
    policy: &'a Policy,
    tailnet: &'a Tailnet,
    nodes: Vec<(&'a str, &'a Node)>,
    /// The owner's e-mail of each untagged node.
    owners: Vec<Option<&'a str>>,
    /// The names the policy defines, with what each stands for.
    names: Names<'a>,
    cache: RefCell<HashMap<String, AddrSet>>,
    /// Selectors as prefixes and wire strings (see [`Resolver::resolve_wire`]).
    wire_cache: RefCell<WireCache>,
    /// Selectors as port-rule destinations (see [`Resolver::resolve_dests`]).
    dest_cache: RefCell<HashMap<String, Dests>>,
    by_owner: OnceCell<HashMap<&'a str, Vec<NodeId>>>,
    node_index: OnceCell<NodeIndex>,
    /// Whose meaning the autogroups take.
    dialect: Dialect,
}

impl<'a> Resolver<'a> {
    /// A resolver for `policy` over `tailnet`.
    pub(crate) fn new(policy: &'a Policy, tailnet: &'a Tailnet) -> Self {
        let nodes: Vec<(&str, &Node)> =
            tailnet.nodes.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let owners = nodes.iter().map(|(_, n)| tailnet.owner_email(n)).collect();
        Self {
            policy,
            tailnet,
            nodes,
            owners,
            names: Names::new(policy),
            cache: RefCell::default(),
            wire_cache: RefCell::default(),
            dest_cache: RefCell::default(),
            by_owner: OnceCell::new(),
            node_index: OnceCell::new(),
            dialect: Dialect::Tailscale,
        }
    }

    /// The resolver with `dialect`'s meaning of the autogroups (Tailscale's by default).
    pub(crate) fn in_dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    /// What `autogroup:internet` stands for under the resolver's dialect.
    pub(crate) fn internet(&self) -> AddrSet {
        match self.dialect {
            Dialect::Tailscale => internet_addrs(),
            Dialect::Headscale => headscale_internet_addrs().clone(),
        }
    }

    /// The policy being resolved.
    pub(crate) const fn policy(&self) -> &'a Policy {
        self.policy
    }

    /// The names the policy defines.
    pub(crate) const fn names(&self) -> &Names<'a> {
        &self.names
    }

    /// The tailnet.
    pub(crate) const fn tailnet(&self) -> &'a Tailnet {
        self.tailnet
    }

    /// The nodes, in name order; a [`NodeId`] indexes this list.
    pub(crate) fn nodes(&self) -> &[(&'a str, &'a Node)] {
        &self.nodes
    }

    /// The node with this name.
    pub(crate) fn node_id(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|(n, _)| *n == name)
    }

    /// The e-mail of the owner of an untagged node.
    pub(crate) fn owner(&self, id: NodeId) -> Option<&'a str> {
        self.owners.get(id).copied().flatten()
    }

    /// The untagged nodes whose `user` is `owner` (a user name as nodes write it), in node
    /// order.
    pub(crate) fn nodes_of_user(&self, owner: &str) -> &[NodeId] {
        self.by_owner
            .get_or_init(|| {
                let mut m: HashMap<&'a str, Vec<NodeId>> = HashMap::new();
                for (id, (_, n)) in self.nodes.iter().enumerate() {
                    if let (false, Some(u)) = (n.is_tagged(), n.user.as_deref()) {
                        m.entry(u).or_default().push(id);
                    }
                }
                m
            })
            .get(owner)
            .map_or(&[], Vec::as_slice)
    }

    /// The node holding this Tailscale address.
    pub(crate) fn node_by_addr(&self, ip: IpAddr) -> Option<NodeId> {
        self.node_index().node_of(ip).map(|i| i as NodeId)
    }

    /// The tailnet's nodes by address (built on first use); its node ids are [`NodeId`]s.
    pub(crate) fn node_index(&self) -> &NodeIndex {
        self.node_index
            .get_or_init(|| NodeIndex::of_tailnet(self.tailnet))
    }

    /// Every approved subnet route (exit routes left out), each once, in node order.
    pub(crate) fn approved_subnet_routes(&self) -> Vec<IpNet> {
        let mut out: Vec<IpNet> = Vec::new();
        for (_, n) in &self.nodes {
            for r in subnet_routes(n) {
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        out
    }

    /// The addresses of the nodes that match `pred`.
    fn nodes_where(&self, mut pred: impl FnMut(NodeId, &Node) -> bool) -> AddrSet {
        AddrSet::from_addrs(
            self.nodes
                .iter()
                .enumerate()
                .filter(|(id, (_, n))| pred(*id, n))
                .flat_map(|(_, (_, n))| n.addresses()),
        )
    }

    /// The nodes having at least one address in `set`.
    pub(crate) fn nodes_in(&self, set: &AddrSet) -> Vec<NodeId> {
        (0..self.nodes.len())
            .filter(|&id| self.node_in(id, set))
            .collect()
    }

    /// True when one of the node's addresses is in `set`.
    pub(crate) fn node_in(&self, id: NodeId, set: &AddrSet) -> bool {
        self.nodes
            .get(id)
            .is_some_and(|(_, n)| n.addresses().any(|a| set.contains(a)))
    }

    /// The untagged nodes owned by the user with this e-mail.
    pub(crate) fn user_addrs(&self, email: &str) -> AddrSet {
        let email = email.strip_prefix("user:").unwrap_or(email);
        let email = email.strip_suffix('@').unwrap_or(email);
        let known = self
            .tailnet
            .users
            .iter()
            .any(|u| u.email == email || u.name == email);
        if !known {
            return AddrSet::new();
        }
        self.nodes_where(|id, n| {
            !n.is_tagged() && (self.owner(id) == Some(email) || n.user.as_deref() == Some(email))
        })
    }

    /// A selector's addresses as prefixes and as the strings Tailscale writes for a
    /// destination (`*` with ranges), remembered: every grant to `tag:relay` shares them.
    pub(crate) fn resolve_wire(&self, selector: &Selector) -> Wire {
        let key = selector.trimmed();
        if let Some((n, s)) = self.wire_cache.borrow().get(key) {
            return (Rc::clone(n), Rc::clone(s));
        }
        let set = self.resolve_selector(selector);
        let strings = if *selector.alias() == Alias::Wildcard {
            set.to_range_strings(&set)
        } else {
            set.to_strings()
        };
        let out: Wire = (set.prefixes().into(), strings.into());
        self.wire_cache
            .borrow_mut()
            .insert(key.to_string(), (Rc::clone(&out.0), Rc::clone(&out.1)));
        out
    }

    /// A selector's prefixes, each with its wire notation as a port-rule destination
    /// ([`net_string`]), remembered: every port grant to one group shares them.
    pub(crate) fn resolve_dests(&self, selector: &Selector) -> Dests {
        let key = selector.trimmed();
        if let Some(d) = self.dest_cache.borrow().get(key) {
            return Rc::clone(d);
        }
        let out: Dests = self
            .resolve_selector(selector)
            .prefixes()
            .into_iter()
            .map(|n| (n, net_string(&n)))
            .collect();
        self.dest_cache
            .borrow_mut()
            .insert(key.to_string(), Rc::clone(&out));
        out
    }

    /// Resolves one selector. Unknown names resolve to the empty set (validation reports them).
    /// Results are remembered: a large policy names the same tags and groups many times.
    pub(crate) fn resolve(&self, selector: &str) -> AddrSet {
        let selector = selector.trim();
        if let Some(s) = self.cache.borrow().get(selector) {
            return s.clone();
        }
        let s = self.resolve_depth(selector, 0);
        self.cache
            .borrow_mut()
            .insert(selector.to_string(), s.clone());
        s
    }

    /// Resolves a selector of the policy: its alias was classified when the policy was
    /// decoded. Shares the cache of [`Self::resolve`].
    pub(crate) fn resolve_selector(&self, selector: &Selector) -> AddrSet {
        let key = selector.trimmed();
        if let Some(s) = self.cache.borrow().get(key) {
            return s.clone();
        }
        let s = self.resolve_alias(selector.alias(), 0);
        self.cache.borrow_mut().insert(key.to_string(), s.clone());
        s
    }

    fn resolve_depth(&self, selector: &str, depth: u8) -> AddrSet {
        self.resolve_alias(&parse_alias(selector), depth)
    }

    fn resolve_alias(&self, alias: &Alias, depth: u8) -> AddrSet {
        if depth > 8 {
            return AddrSet::new();
        }
        match alias {
            Alias::Wildcard => wildcard_addrs(),
            Alias::User(email) => self.user_addrs(email),
            Alias::UserDomain(domain) => self.nodes_where(|id, n| {
                !n.is_tagged()
                    && self
                        .owner(id)
                        .and_then(|e| e.rsplit_once('@'))
                        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain))
            }),
            Alias::Group(name) => {
                let mut s = AddrSet::new();
                if let Some(members) = self.names.group(name) {
                    for m in members {
                        if !m.value.starts_with("group:") {
                            s.add_set(&self.resolve_alias(m.alias(), depth + 1));
                        }
                    }
                }
                s
            }
            Alias::Tag(tag) => self.nodes_where(|_, n| n.tags.contains(tag)),
            Alias::Autogroup(name) => match name.as_str() {
                "autogroup:member" => self.nodes_where(|id, n| {
                    !n.is_tagged() && (self.owner(id).is_some() || n.user.is_some())
                }),
                "autogroup:tagged" => self.nodes_where(|_, n| n.is_tagged()),
                "autogroup:internet" => self.internet(),
                "autogroup:danger-all" => all_addrs(),
                _ => AddrSet::new(),
            },
            Alias::Ipset(name) => self.ipset(name, depth),
            Alias::Service(_) => AddrSet::new(),
            Alias::Prefix(net) => std::iter::once(*net).collect(),
            Alias::Host(name) => match self.names.hosts.get(name.as_str()) {
                Some(Some(net)) => std::iter::once(*net).collect(),
                _ => AddrSet::new(),
            },
        }
    }

    fn ipset(&self, name: &str, depth: u8) -> AddrSet {
        let mut s = AddrSet::new();
        let Some(entries) = self.names.ipset(name) else {
            return s;
        };
        for e in entries {
            let set = self.resolve_alias(e.selector().alias(), depth + 1);
            if e.removes() {
                s.remove_set(&set);
            } else {
                s.add_set(&set);
            }
        }
        s
    }
}

/// A node's approved subnet routes, exit routes left out.
pub fn subnet_routes(node: &Node) -> impl Iterator<Item = IpNet> + '_ {
    node.approved_routes
        .iter()
        .filter(|r| !is_exit_route(r))
        .map(IpNet::trunc)
}

/// True when the node has an approved exit route.
pub(crate) fn is_exit_node(node: &Node) -> bool {
    node.approved_routes.iter().any(is_exit_route)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> (Policy, Tailnet) {
        let (p, _) = crate::model::policy::parse_policy(
            r#"{"groups": {"group:a": ["odin@example.com", "ghost@example.com"]},
                "hosts": {"web": "100.64.0.2"},
                "ipsets": {"ipset:x": ["10.0.0.0/8", "remove 10.1.0.0/16", "add web"]}}"#,
        )
        .unwrap();
        let t = Tailnet::from_text(
            r#"{"tailnet": "odin@example.com",
                "users": [{"name": "odin", "email": "odin@example.com"}, {"name": "thor", "email": "thor@example.org"}],
                "nodes": {
                  "a": {"ipv4": "100.64.0.1", "ipv6": "fd7a:115c:a1e0::1", "user": "odin"},
                  "b": {"ipv4": "100.64.0.2", "user": "thor"},
                  "c": {"ipv4": "100.64.0.3", "tags": ["tag:srv"], "user": "odin"}}}"#,
        )
        .unwrap();
        (p, t)
    }

    #[test]
    fn identities_resolve_to_their_nodes() {
        let (p, t) = fixture();
        let r = Resolver::new(&p, &t);
        assert_eq!(
            r.resolve("odin@example.com").to_strings(),
            ["100.64.0.1", "fd7a:115c:a1e0::1"]
        );
        assert_eq!(r.resolve("group:a"), r.resolve("odin@example.com"));
        assert_eq!(r.resolve("tag:srv").to_strings(), ["100.64.0.3"]);
        assert_eq!(r.resolve("autogroup:tagged").to_strings(), ["100.64.0.3"]);
        assert_eq!(r.resolve("user:*@example.org").to_strings(), ["100.64.0.2"]);
        assert_eq!(
            r.resolve("autogroup:member").to_strings(),
            ["100.64.0.1", "100.64.0.2", "fd7a:115c:a1e0::1"]
        );
    }

    #[test]
    fn addresses_resolve_literally() {
        let (p, t) = fixture();
        let r = Resolver::new(&p, &t);
        assert_eq!(r.resolve("web").to_strings(), ["100.64.0.2"]);
        let x = r.resolve("ipset:x");
        assert!(x.contains("10.2.0.1".parse().unwrap()));
        assert!(!x.contains("10.1.0.1".parse().unwrap()));
        assert!(x.contains("100.64.0.2".parse().unwrap()));
        assert!(r.resolve("nope").is_empty());
    }
}
