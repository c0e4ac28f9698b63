//! Tailscale SSH: who may log in to which node as which user, and how (accept or check and
//! its period, session recorders and their enforcement, the environment the client may
//! send), each under its posture [`Condition`].

use super::condition::Condition;
use super::leaves::Leaves;
use crate::engine::resolve::{AddrSet, Resolver};
use crate::model::policy::{Policy, SshRule};
use crate::model::tailnet::Tailnet;
use std::collections::{BTreeMap, BTreeSet};

/// Per login user: the condition under which the login is allowed, and how it is allowed
/// (one description per rule that allows it).
pub(crate) type Logins = BTreeMap<String, (Condition, BTreeSet<String>)>;

/// Logins by (source, destination).
pub(crate) type SshMap = BTreeMap<(String, String), Logins>;

/// How a rule lets a session in: `accept`, or `check` with its period; its recorders and
/// accepted environment variables.
fn mode(rule: &SshRule, cond: &Condition) -> String {
    let mut parts = Vec::new();
    match rule.action.as_ref().map(|a| a.trim()) {
        Some("check") => parts.push(match &rule.check_period {
            Some(p) => format!("check every {}", p.trim()),
            None => "check".to_string(),
        }),
        _ => parts.push("accept".to_string()),
    }
    let mut recorders: Vec<&str> = rule.recorder.iter().map(|r| r.trim()).collect();
    recorders.sort_unstable();
    if !recorders.is_empty() {
        let enforced = if rule.enforce_recorder == Some(true) {
            " (enforced)"
        } else {
            " (not enforced)"
        };
        parts.push(format!("recorded by {}{enforced}", recorders.join(" ")));
    }
    let mut env: Vec<&str> = rule.accept_env.iter().map(|e| e.trim()).collect();
    env.sort_unstable();
    if !env.is_empty() {
        parts.push(format!("env {}", env.join(" ")));
    }
    format!("{}{}", parts.join(", "), cond.suffix())
}

fn insert(map: &mut SshMap, key: (String, String), users: &[String], cond: &Condition, how: &str) {
    let logins = map.entry(key).or_default();
    for u in users {
        let (c, modes) = logins.entry(u.clone()).or_default();
        c.or(cond);
        modes.insert(how.to_string());
    }
}

fn written_users(rule: &SshRule) -> Vec<String> {
    rule.users
        .iter()
        .flatten()
        .map(|u| u.trim().to_string())
        .collect()
}

/// Logins per pair of selectors as written, groups, hosts and ipsets expanded.
pub(crate) fn selector_ssh(p: &Policy, leaves: &Leaves<'_>) -> SshMap {
    let mut map = SshMap::new();
    for rule in &p.ssh {
        let cond = Condition::of_rule(p, &rule.src_posture);
        let how = mode(rule, &cond);
        let users = written_users(rule);
        let srcs: BTreeSet<String> = rule.src.iter().flat_map(|s| leaves.of(s)).collect();
        let dsts: BTreeSet<String> = rule.dst.iter().flat_map(|d| leaves.of(d)).collect();
        for s in &srcs {
            for d in &dsts {
                insert(&mut map, (s.clone(), d.clone()), &users, &cond, &how);
            }
        }
    }
    map
}

/// The login users of `rule` for a source owned by `owner`: `localpart:*@domain` becomes
/// the owner's local part when the owner's domain is `domain`, and nothing otherwise.
fn users_for(written: &[String], owner: Option<&str>) -> Vec<String> {
    written
        .iter()
        .filter_map(|u| match u.strip_prefix("localpart:*@") {
            Some(domain) => owner
                .and_then(|e| e.rsplit_once('@'))
                .filter(|(_, d)| d.eq_ignore_ascii_case(domain))
                .map(|(local, _)| local.to_string()),
            None => Some(u.clone()),
        })
        .collect()
}

/// Logins per pair of nodes.
pub(crate) fn node_ssh(p: &Policy, tailnet: &Tailnet) -> SshMap {
    let mut map = SshMap::new();
    let r = Resolver::new(p, tailnet);
    let nodes = r.nodes();
    for rule in &p.ssh {
        let cond = Condition::of_rule(p, &rule.src_posture);
        let how = mode(rule, &cond);
        let written = written_users(rule);
        let mut src = AddrSet::new();
        rule.src
            .iter()
            .for_each(|s| src.add_set(&r.resolve_selector(s)));
        let mut dst = AddrSet::new();
        let mut to_self = false;
        for d in &rule.dst {
            if d.trim() == "autogroup:self" {
                to_self = true;
            } else {
                dst.add_set(&r.resolve_selector(d));
            }
        }
        let dst_nodes = r.nodes_in(&dst);
        let src_nodes = r.nodes_in(&src);
        let has_localpart = written.iter().any(|u| u.starts_with("localpart:*@"));
        if has_localpart && !dst_nodes.is_empty() {
            // The control plane also gives a source node that is not a destination the
            // rules of its own user's source nodes (its own, when tagged), as the captures
            // show (see `compile::ssh`): each user may reach their own login there.
            for &x in src_nodes.iter().filter(|x| !dst_nodes.contains(x)) {
                let Some((x_name, x_node)) = nodes.get(x) else {
                    continue;
                };
                let owner = r.owner(x);
                let from: Vec<usize> = if x_node.is_tagged() {
                    vec![x]
                } else if owner.is_some() {
                    src_nodes
                        .iter()
                        .copied()
                        .filter(|&y| r.owner(y) == owner)
                        .filter(|&y| nodes.get(y).is_some_and(|(_, n)| !n.is_tagged()))
                        .collect()
                } else {
                    Vec::new()
                };
                let users = users_for(&written, owner);
                for y in from {
                    if let Some((y_name, _)) = nodes.get(y) {
                        let key = ((*y_name).to_string(), (*x_name).to_string());
                        insert(&mut map, key, &users, &cond, &how);
                    }
                }
            }
        }
        for &s in &src_nodes {
            let Some((src_name, src_node)) = nodes.get(s) else {
                continue;
            };
            let owner = r.owner(s);
            let users = users_for(&written, owner);
            let mut targets: BTreeSet<usize> = dst_nodes.iter().copied().collect();
            if to_self && !src_node.is_tagged() && owner.is_some() {
                // `autogroup:self`: the untagged nodes of the source's own user.
                targets.extend(
                    (0..nodes.len())
                        .filter(|&d| r.owner(d) == owner)
                        .filter(|&d| nodes.get(d).is_some_and(|(_, n)| !n.is_tagged())),
                );
            }
            for d in targets {
                if let Some((dst_name, _)) = nodes.get(d) {
                    let key = ((*src_name).to_string(), (*dst_name).to_string());
                    insert(&mut map, key, &users, &cond, &how);
                }
            }
        }
    }
    map
}

/// What was added, removed and changed (still allowed, in another way) from `old` to `new`.
pub(crate) fn compare(old: &Logins, new: &Logins) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut added, mut removed, mut changed) = (Vec::new(), Vec::new(), Vec::new());
    let none = (Condition::default(), BTreeSet::new());
    let users: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let join = |modes: &BTreeSet<String>| modes.iter().cloned().collect::<Vec<_>>().join("; ");
    for u in users {
        let (oc, om) = old.get(u).unwrap_or(&none);
        let (nc, nm) = new.get(u).unwrap_or(&none);
        let (gained, lost) = (!nc.implies(oc), !oc.implies(nc));
        if gained {
            let before = if om.is_empty() {
                String::new()
            } else {
                format!(" (before: {})", join(om))
            };
            added.push(format!("as {u}: {}{before}", join(nm)));
        }
        if lost {
            let now = if nm.is_empty() {
                String::new()
            } else {
                format!(" (now: {})", join(nm))
            };
            removed.push(format!("as {u}: {}{now}", join(om)));
        }
        if !gained && !lost && om != nm {
            changed.push(format!("as {u}: {} -> {}", join(om), join(nm)));
        }
    }
    (added, removed, changed)
}
