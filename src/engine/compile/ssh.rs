//! SSH rules per node (`tailcfg.SSHRule`), as the control plane pushes them.
//!
//! What the captures in `conformance/` show, and what this module reproduces:
//! - each `ssh` entry of the policy, in order, gives the rules of every node its destinations
//!   cover; its principals are the source nodes' addresses, one `{"nodeIP": ...}` each;
//! - `sshUsers` always has `root` (mapped to `root` when the entry lists it, else to the empty
//!   string, which denies it), `*` mapped to `=` for `autogroup:nonroot`, and every other user
//!   name mapped to itself (after trimming; names the checker accepts but that are not login
//!   names, such as `tag:foo`, are kept as written);
//! - `localpart:*@domain` splits an entry per source user, in user id order: a common rule
//!   with the entry's other users, then a rule mapping the user's e-mail local part to itself
//!   when the domain is the user's; tagged sources get the common rule last. A source node
//!   that is not a destination still receives the rules of its own user (or, tagged, of its
//!   own addresses): the captures show it, Tailscale lets a user reach their own login there;
//! - `autogroup:self` gives an untagged node the rules whose principals are the source nodes
//!   of its own user;
//! - `accept` is `{accept, allowAgentForwarding, allowLocalPortForwarding,
//!   allowRemotePortForwarding}`; `check` is `{holdAndDelegate: URL}` whatever `checkPeriod`
//!   says (the period is kept by the control plane, not pushed);
//! - rules with a `check` action come first, the others keep their order (a stable sort).

use super::wire::{Compiled, SshAction, SshPrincipal, SshRule};
use crate::engine::resolve::{AddrSet, NodeId, Resolver};
use crate::model::policy::{Policy, SshRule as PolicySshRule};
use crate::model::selector::Selector;
use crate::model::tailnet::{Node, Tailnet};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The `holdAndDelegate` URL of a `check` action, as the captures show it. The client
/// substitutes the `$` variables; the host is the control server's.
pub(crate) const CHECK_URL: &str =
    "https://unused/machine/ssh/action/$SRC_NODE_ID/to/$DST_NODE_ID?local_user=$LOCAL_USER";

/// One policy `ssh` entry resolved once for the whole tailnet.
struct Entry {
    action: SshAction,
    accept_env: Vec<String>,
    base_users: BTreeMap<String, String>,
    has_localpart: bool,
    /// Source user id to the local part that user may log in as.
    localpart_by_user: BTreeMap<UserKey, String>,
    src: AddrSet,
    /// Every source address, for the rule of a non-`localpart` entry.
    src_principals: Vec<SshPrincipal>,
    /// Source user id (ascending) to the addresses of that user's source nodes.
    by_user: BTreeMap<UserKey, Vec<SshPrincipal>>,
    tagged: Vec<SshPrincipal>,
    self_dst: bool,
    dst: Option<AddrSet>,
}

fn principals(addrs: impl IntoIterator<Item = IpAddr>) -> Vec<SshPrincipal> {
    addrs
        .into_iter()
        .map(|a| SshPrincipal {
            node_ip: a.to_string(),
        })
        .collect()
}

/// The domain of a well-formed `localpart:*@domain`.
fn localpart_domain(user: &str) -> Option<&str> {
    user.strip_prefix("localpart:*@").filter(|d| !d.is_empty())
}

/// A user's key: its id, then its place in the tailnet file (ids are optional there).
type UserKey = (u64, usize);

fn user_key(tailnet: &Tailnet, node: &Node) -> Option<UserKey> {
    if node.is_tagged() {
        return None;
    }
    let name = node.user.as_deref()?;
    tailnet
        .users
        .iter()
        .enumerate()
        .find(|(_, u)| u.name == name || u.email == name)
        .map(|(i, u)| (u.id, i))
}

fn action(rule: &PolicySshRule) -> Option<SshAction> {
    match rule.action.as_ref().map(|a| a.value.trim()) {
        Some("accept") => Some(SshAction {
            accept: true,
            allow_agent_forwarding: true,
            allow_local_port_forwarding: true,
            allow_remote_port_forwarding: true,
            ..SshAction::default()
        }),
        Some("check") => Some(SshAction {
            hold_and_delegate: CHECK_URL.to_string(),
            ..SshAction::default()
        }),
        _ => None,
    }
}

fn entry(r: &Resolver<'_>, uids: &[Option<UserKey>], rule: &PolicySshRule) -> Option<Entry> {
    let action = action(rule)?;
    let mut src = AddrSet::new();
    for s in &rule.src {
        src.add_set(&r.resolve_selector(s));
    }
    if src.is_empty() {
        return None;
    }
    let users: Vec<&str> = rule
        .users
        .iter()
        .flatten()
        .map(|u| u.value.trim())
        .collect();
    let mut base_users = BTreeMap::new();
    if users.contains(&"autogroup:nonroot") {
        base_users.insert("*".to_string(), "=".to_string());
    }
    let root = if users.contains(&"root") { "root" } else { "" };
    base_users.insert("root".to_string(), root.to_string());
    let mut domains = Vec::new();
    for u in &users {
        match localpart_domain(u) {
            Some(d) => domains.push(d),
            None if *u != "root" && *u != "autogroup:nonroot" => {
                base_users.insert((*u).to_string(), (*u).to_string());
            }
            None => {}
        }
    }
    let mut localpart_by_user = BTreeMap::new();
    for d in &domains {
        for (i, u) in r.tailnet().users.iter().enumerate() {
            if let Some((local, domain)) = u.email.rsplit_once('@') {
                if domain.eq_ignore_ascii_case(d) {
                    localpart_by_user.insert((u.id, i), local.to_string());
                }
            }
        }
    }

    // Source nodes by owner; every address of a node any of whose addresses is a source.
    let mut by_user: BTreeMap<UserKey, Vec<IpAddr>> = BTreeMap::new();
    let mut tagged: Vec<IpAddr> = Vec::new();
    let mut src_addrs: Vec<IpAddr> = Vec::new();
    for (id, (_, node)) in r.nodes().iter().enumerate() {
        if !r.node_in(id, &src) {
            continue;
        }
        src_addrs.extend(node.addresses().filter(|a| src.contains(*a)));
        if node.is_tagged() {
            tagged.extend(node.addresses());
        } else if let Some(uid) = uids.get(id).copied().flatten() {
            by_user.entry(uid).or_default().extend(node.addresses());
        }
    }
    // Sources written as addresses of no node still name themselves.
    for p in src.prefixes() {
        if p.prefix_len() == p.max_prefix_len() && r.node_by_addr(p.addr()).is_none() {
            src_addrs.push(p.addr());
        }
    }
    src_addrs.sort_unstable();
    src_addrs.dedup();

    let self_dst = rule.dst.iter().any(|d| d.trimmed() == "autogroup:self");
    let others: Vec<&Selector> = rule
        .dst
        .iter()
        .map(|d| &d.value)
        .filter(|d| d.trimmed() != "autogroup:self")
        .collect();
    let dst = (!others.is_empty()).then(|| {
        let mut s = AddrSet::new();
        for d in others {
            s.add_set(&r.resolve_selector(d));
        }
        s
    });
    Some(Entry {
        action,
        accept_env: rule.accept_env.iter().map(|e| e.value.clone()).collect(),
        base_users,
        has_localpart: !domains.is_empty(),
        localpart_by_user,
        src,
        src_principals: principals(src_addrs),
        by_user: by_user
            .into_iter()
            .map(|(k, v)| (k, principals(v)))
            .collect(),
        tagged: principals(tagged),
        self_dst,
        dst,
    })
}

impl Entry {
    fn rule(&self, principals: &[SshPrincipal], users: BTreeMap<String, String>) -> SshRule {
        SshRule {
            principals: principals.to_vec(),
            ssh_users: users,
            action: self.action.clone(),
            accept_env: self.accept_env.clone(),
        }
    }

    /// The common rule for these principals and, for a user with a local part, its rule.
    fn push(&self, out: &mut Vec<SshRule>, principals: &[SshPrincipal], uid: Option<UserKey>) {
        if principals.is_empty() {
            return;
        }
        out.push(self.rule(principals, self.base_users.clone()));
        if let Some(lp) = uid.and_then(|u| self.localpart_by_user.get(&u)) {
            out.push(self.rule(principals, BTreeMap::from([(lp.clone(), lp.clone())])));
        }
    }

    fn rules_for(
        &self,
        r: &Resolver<'_>,
        id: NodeId,
        uid: Option<UserKey>,
        out: &mut Vec<SshRule>,
    ) {
        let Some((_, node)) = r.nodes().get(id) else {
            return;
        };
        if self.self_dst && !node.is_tagged() {
            if let Some(p) = uid.and_then(|u| self.by_user.get(&u)) {
                self.push(out, p, uid);
            }
        }
        let Some(dst) = &self.dst else { return };
        if r.node_in(id, dst) {
            if self.has_localpart {
                for (u, p) in &self.by_user {
                    self.push(out, p, Some(*u));
                }
                self.push(out, &self.tagged, None);
            } else {
                self.push(out, &self.src_principals, None);
            }
        } else if self.has_localpart && r.node_in(id, &self.src) {
            if node.is_tagged() {
                self.push(out, &principals(node.addresses()), None);
            } else if let Some(p) = uid.and_then(|u| self.by_user.get(&u)) {
                self.push(out, p, uid);
            }
        }
    }
}

/// Fills every node's `ssh_rules`.
pub(super) fn fill(policy: &Policy, tailnet: &Tailnet, compiled: &mut Compiled) {
    if policy.ssh.is_empty() {
        return;
    }
    let r = Resolver::new(policy, tailnet);
    let uids: Vec<Option<UserKey>> = r
        .nodes()
        .iter()
        .map(|(_, n)| user_key(tailnet, n))
        .collect();
    let entries: Vec<Entry> = policy
        .ssh
        .iter()
        .filter_map(|rule| entry(&r, &uids, rule))
        .collect();
    for (id, (name, _)) in r.nodes().iter().enumerate() {
        let uid = uids.get(id).copied().flatten();
        let mut rules = Vec::new();
        for e in &entries {
            e.rules_for(&r, id, uid, &mut rules);
        }
        // `check` before `accept`, each keeping its order.
        rules.sort_by_key(|rule| rule.action.hold_and_delegate.is_empty());
        if let Some(out) = compiled.nodes.get_mut(*name) {
            out.ssh_rules = rules;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::compile::compile;
    use crate::model::tailnet::Tailnet;
    use crate::validate::{check_text, Options};
    use serde_json::{json, Value};

    const TAILNET: &str = r#"{"tailnet": "odin@example.com",
      "users": [{"id": 1, "name": "odin", "email": "odin@example.com"},
                {"id": 2, "name": "thor", "email": "thor@example.org"}],
      "nodes": {
        "laptop": {"ipv4": "100.64.0.1", "ipv6": "fd7a:115c:a1e0::1", "user": "odin"},
        "phone":  {"ipv4": "100.64.0.2", "ipv6": "fd7a:115c:a1e0::2", "user": "thor"},
        "server": {"ipv4": "100.64.0.3", "ipv6": "fd7a:115c:a1e0::3", "tags": ["tag:server"]}}}"#;

    fn ssh_rules(policy: &str) -> Value {
        let tailnet = Tailnet::from_text(TAILNET).unwrap();
        let policy = check_text(policy, &Options::default())
            .into_validated()
            .unwrap();
        let out = serde_json::to_value(compile(&policy, &tailnet)).unwrap();
        let mut m = serde_json::Map::new();
        for (name, node) in out["nodes"].as_object().unwrap() {
            if let Some(r) = node.get("ssh_rules") {
                m.insert(name.clone(), r.clone());
            }
        }
        Value::Object(m)
    }

    fn p(ips: &[&str]) -> Value {
        ips.iter().map(|ip| json!({"nodeIP": ip})).collect()
    }

    #[test]
    fn check_rules_come_first_and_users_map_root() {
        let got = ssh_rules(
            r#"{"tagOwners": {"tag:server": []}, "ssh": [
              {"action": "accept", "src": ["thor@example.org"], "dst": ["tag:server"], "users": ["ubuntu"]},
              {"action": "check", "src": ["thor@example.org"], "dst": ["tag:server"], "users": ["root"], "acceptEnv": ["TERM"]}]}"#,
        );
        let phone = p(&["100.64.0.2", "fd7a:115c:a1e0::2"]);
        assert_eq!(
            got,
            json!({"server": [
                {"principals": phone, "sshUsers": {"root": "root"},
                 "action": {"holdAndDelegate": super::CHECK_URL}, "acceptEnv": ["TERM"]},
                {"principals": phone, "sshUsers": {"root": "", "ubuntu": "ubuntu"},
                 "action": {"accept": true, "allowAgentForwarding": true,
                            "allowLocalPortForwarding": true, "allowRemotePortForwarding": true}}]})
        );
    }

    #[test]
    fn localpart_splits_per_user_and_reaches_the_source_node() {
        let got = ssh_rules(
            r#"{"tagOwners": {"tag:server": []}, "ssh": [
              {"action": "accept", "src": ["autogroup:member"], "dst": ["tag:server"],
               "users": ["localpart:*@example.com", "autogroup:nonroot"]}]}"#,
        );
        let laptop = p(&["100.64.0.1", "fd7a:115c:a1e0::1"]);
        let phone = p(&["100.64.0.2", "fd7a:115c:a1e0::2"]);
        let action = json!({"accept": true, "allowAgentForwarding": true,
                            "allowLocalPortForwarding": true, "allowRemotePortForwarding": true});
        let common = json!({"*": "=", "root": ""});
        assert_eq!(
            got["server"],
            json!([
                {"principals": laptop, "sshUsers": common, "action": action},
                {"principals": laptop, "sshUsers": {"odin": "odin"}, "action": action},
                {"principals": phone, "sshUsers": common, "action": action}])
        );
        // A source that is not a destination gets its own user's rules.
        assert_eq!(
            got["laptop"],
            json!([
                {"principals": laptop, "sshUsers": common, "action": action},
                {"principals": laptop, "sshUsers": {"odin": "odin"}, "action": action}])
        );
        assert_eq!(got["phone"].as_array().map(Vec::len), Some(1));
    }
}
