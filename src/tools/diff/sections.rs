//! The sections that give access without being rules between two parties: node attributes,
//! auto-approvers (who may advertise which routes and exit nodes) and tag owners (who may
//! apply which tags).

use super::leaves::Leaves;
use crate::engine::resolve::Resolver;
use crate::model::policy::Policy;
use crate::model::selector::Selector;
use crate::model::tailnet::Tailnet;
use crate::vocab::{DISABLE_RELAY_CLIENT, DISABLE_RELAY_SERVER, FUNNEL_ATTR, ONLY_TCP_443};
use std::collections::{BTreeMap, BTreeSet};

/// Items (attributes, approvers, owners) by what they apply to (a node, a route, a tag).
pub(crate) type Items = BTreeMap<String, BTreeSet<String>>;

/// Node attributes that take something away when added: `disable-relay-server` and
/// `disable-relay-client` turn peer relaying off (Tailscale's peer relay documentation),
/// `only-tcp-443` limits a node's connections.
pub(crate) fn restricts(attr: &str) -> bool {
    attr.starts_with("disable-") || attr == ONLY_TCP_443
}

/// What an attribute does, for the attributes whose name does not say it plainly.
pub(crate) fn note(attr: &str) -> Option<&'static str> {
    match attr {
        DISABLE_RELAY_SERVER => Some("the node no longer serves as a peer relay"),
        DISABLE_RELAY_CLIENT => Some("the node no longer uses peer relays"),
        FUNNEL_ATTR => Some("the node may serve to the public internet through Funnel"),
        ONLY_TCP_443 => Some("the node connects over TCP 443 only"),
        _ => None,
    }
}

/// The items one `nodeAttrs` entry gives: its attributes, its app capabilities (one per
/// value) and its address pools.
fn attr_items(a: &crate::model::policy::NodeAttr) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = a.attr.iter().map(|s| s.trim().to_string()).collect();
    if let Some(serde_json::Value::Object(app)) = &a.app {
        for (name, values) in app {
            match values.as_array() {
                Some(list) if !list.is_empty() => {
                    out.extend(list.iter().map(|v| format!("{name} {v}")));
                }
                _ => {
                    out.insert(name.clone());
                }
            }
        }
    }
    out.extend(a.ip_pool.iter().map(|p| format!("ipPool {}", p.trim())));
    out
}

/// Node attributes per node (with a tailnet) or per target as written.
pub(crate) fn node_attrs(p: &Policy, leaves: &Leaves<'_>, tailnet: Option<&Tailnet>) -> Items {
    let mut out = Items::new();
    let resolver = tailnet.map(|t| Resolver::new(p, t));
    for a in &p.node_attrs {
        let items = attr_items(a);
        let targets: BTreeSet<String> = match &resolver {
            Some(r) => a
                .target
                .iter()
                .flat_map(|t| r.nodes_in(&r.resolve_selector(t)))
                .filter_map(|id| r.nodes().get(id).map(|(n, _)| (*n).to_string()))
                .collect(),
            None => a.target.iter().flat_map(|t| leaves.of(t)).collect(),
        };
        for t in targets {
            out.entry(t).or_default().extend(items.iter().cloned());
        }
    }
    out
}

/// A route as a canonical prefix, so that `10.0.0.1/8` and `10.0.0.0/8` are one route.
fn route_key(route: &str) -> String {
    match route.trim().parse::<ipnet::IpNet>() {
        Ok(net) => format!("route {}", net.trunc()),
        Err(_) => format!("route {}", route.trim()),
    }
}

/// Who may advertise each route, exit node and service without approval.
pub(crate) fn auto_approvers(p: &Policy, leaves: &Leaves<'_>) -> Items {
    let mut out = Items::new();
    let Some(aa) = &p.auto_approvers else {
        return out;
    };
    let expand = |who: &mut dyn Iterator<Item = &Selector>| -> BTreeSet<String> {
        who.flat_map(|w| leaves.of(w)).collect()
    };
    for (route, who) in &aa.routes {
        let who = expand(&mut who.iter().map(|w| &w.value));
        out.entry(route_key(route)).or_default().extend(who);
    }
    if !aa.exit_node.is_empty() {
        let who = expand(&mut aa.exit_node.iter().map(|w| &w.value));
        out.entry("exit node".to_string()).or_default().extend(who);
    }
    if let Some(serde_json::Value::Object(services)) = &aa.services {
        for (svc, who) in services {
            // Services are kept as JSON in the policy: their approvers are classified here.
            let names: Vec<Selector> = who
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(serde_json::Value::as_str)
                .map(Selector::new)
                .collect();
            let who = expand(&mut names.iter());
            out.entry(format!("service {svc}")).or_default().extend(who);
        }
    }
    out
}

/// Who may apply each tag.
pub(crate) fn tag_owners(p: &Policy, leaves: &Leaves<'_>) -> Items {
    let mut out = Items::new();
    for (tag, owners) in &p.tag_owners {
        out.entry(tag.trim().to_string())
            .or_default()
            .extend(owners.iter().flat_map(|o| leaves.of(o)));
    }
    out
}
