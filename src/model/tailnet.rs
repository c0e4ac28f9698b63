//! The tailnet a policy is applied to: its users and nodes.
//!
//! Read from the `topology` form (`{"tailnet", "users", "nodes"}`), optionally extended per
//! node with relay settings, node attributes and a disco public key; from
//! `tailscale status --json`; or from Headscale's `users list` and `nodes list` JSON
//! (`model/headscale_tailnet.rs`).

use ipnet::IpNet;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A tailnet: users and nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tailnet {
    /// The tailnet's name, an owner e-mail; its domain is the tailnet's domain.
    #[serde(default)]
    pub(crate) tailnet: Option<String>,
    /// The users.
    #[serde(default)]
    pub(crate) users: Vec<User>,
    /// The nodes by name, in name order.
    #[serde(default)]
    pub nodes: BTreeMap<String, Node>,
}

/// A user of the tailnet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct User {
    /// Numeric id.
    #[serde(default)]
    pub(crate) id: u64,
    /// Short name (nodes refer to their owner by it).
    pub(crate) name: String,
    /// Login e-mail (policies refer to users by it).
    pub(crate) email: String,
    /// The identifier the identity provider gives the user (Headscale's
    /// `provider_identifier`, an OIDC issuer and subject), when it logs in through one.
    #[serde(default)]
    pub(crate) provider_id: Option<String>,
}

/// A node (device) of the tailnet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Host name.
    #[serde(default)]
    pub(crate) hostname: String,
    /// Tags; a tagged node has no user identity.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub(crate) tags: Vec<String>,
    /// Tailscale IPv4 address.
    #[serde(default)]
    pub(crate) ipv4: Option<Ipv4Addr>,
    /// Tailscale IPv6 address.
    #[serde(default)]
    pub(crate) ipv6: Option<Ipv6Addr>,
    /// Owner's user name; absent on tagged nodes.
    #[serde(default)]
    pub(crate) user: Option<String>,
    /// Advertised subnet and exit routes.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub(crate) routable_ips: Vec<IpNet>,
    /// Routes the admin approved.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub(crate) approved_routes: Vec<IpNet>,
    /// Node attributes set outside the policy file.
    #[serde(default)]
    pub(crate) attributes: Vec<String>,
    /// Peer-relay settings, when this node runs a relay server.
    #[serde(default)]
    pub relay: Option<RelaySettings>,
    /// Disco public key, `discokey:` followed by 64 hex digits.
    #[serde(default)]
    pub disco_key: Option<String>,
}

/// A node's peer-relay server settings (`tailscale set --relay-server-port`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaySettings {
    /// UDP port of the relay server.
    pub port: u16,
    /// Fixed endpoints advertised before the discovered ones.
    #[serde(default)]
    pub static_endpoints: Vec<SocketAddr>,
}

impl Node {
    /// The node's Tailscale addresses, IPv4 first.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.ipv4
            .map(IpAddr::V4)
            .into_iter()
            .chain(self.ipv6.map(IpAddr::V6))
    }

    /// True when the node carries tags (and so has no user identity).
    pub(crate) fn is_tagged(&self) -> bool {
        !self.tags.is_empty()
    }
}

/// Reads `null` as an empty list, as Go's JSON encoder writes empty slices.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A tailnet file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid tailnet file: {message}")]
pub struct TailnetError {
    /// What is wrong, with the line and column.
    pub(crate) message: String,
}

impl Tailnet {
    /// Parses a tailnet file (JSON or HuJSON). A conformance case file, whose tailnet sits
    /// under `topology` beside a top-level `tailnet` name, is accepted as well, and so are
    /// `tailscale status --json` and Headscale's node list (a JSON list, or
    /// `{"users": [...], "nodes": [...]}` holding both of Headscale's lists).
    pub fn from_text(text: &str) -> Result<Self, TailnetError> {
        let (node, _) =
            crate::syntax::hujson::parse(text).map_err(|d| TailnetError { message: d.message })?;
        let mut json = node.to_json();
        if let Some(obj) = json.as_object_mut() {
            if let Some(topology) = obj.remove("topology") {
                let name = obj.remove("tailnet");
                json = topology;
                if let (Some(t), Some(name)) = (json.as_object_mut(), name) {
                    t.insert("tailnet".into(), name);
                }
            }
        }
        if json.get("Peer").is_some() || json.get("Self").is_some() {
            return Self::from_status(&json);
        }
        if super::headscale_tailnet::is_headscale(&json) {
            return super::headscale_tailnet::from_file_json(&json);
        }
        serde_path_to_error::deserialize(json).map_err(|e| TailnetError {
            message: format!("at `{}`: {}", e.path(), e.inner()),
        })
    }

    /// Reads what `tailscale status --json` prints: the local node (`Self`), its peers
    /// (`Peer`), the users (`User`) and the tailnet's name (`CurrentTailnet`).
    fn from_status(json: &serde_json::Value) -> Result<Self, TailnetError> {
        let status: status::Status =
            serde_path_to_error::deserialize(json).map_err(|e| TailnetError {
                message: format!(
                    "`tailscale status --json` output at `{}`: {}",
                    e.path(),
                    e.inner()
                ),
            })?;
        let mut tailnet = Tailnet::default();
        for (id, u) in &status.user {
            let name = u
                .login_name
                .split('@')
                .next()
                .unwrap_or(&u.login_name)
                .to_string();
            tailnet.users.push(User {
                id: id.parse().unwrap_or(u.id),
                name,
                email: u.login_name.clone(),
                provider_id: None,
            });
        }
        tailnet.users.sort_by_key(|u| u.id);
        tailnet.tailnet = status
            .current_tailnet
            .as_ref()
            .map(|t| t.name.clone())
            .filter(|n| n.contains('@'))
            .or_else(|| {
                let owner = status.self_node.as_ref()?.user_id;
                tailnet
                    .users
                    .iter()
                    .find(|u| u.id == owner)
                    .map(|u| u.email.clone())
            });
        for peer in status.self_node.iter().chain(status.peer.values()) {
            let user = tailnet
                .users
                .iter()
                .find(|u| u.id == peer.user_id)
                .map(|u| u.name.clone())
                .filter(|_| peer.tags.is_empty());
            let mut name = peer.host_name.clone();
            let mut n = 1;
            while tailnet.nodes.contains_key(&name) {
                n += 1;
                name = format!("{}-{n}", peer.host_name);
            }
            let routes: Vec<IpNet> = peer.primary_routes.clone();
            tailnet.nodes.insert(
                name,
                Node {
                    hostname: peer.host_name.clone(),
                    tags: peer.tags.clone(),
                    ipv4: peer.tailscale_ips.iter().find_map(|ip| match ip {
                        IpAddr::V4(v4) => Some(*v4),
                        IpAddr::V6(_) => None,
                    }),
                    ipv6: peer.tailscale_ips.iter().find_map(|ip| match ip {
                        IpAddr::V6(v6) => Some(*v6),
                        IpAddr::V4(_) => None,
                    }),
                    user,
                    routable_ips: routes.clone(),
                    approved_routes: routes,
                    ..Node::default()
                },
            );
        }
        Ok(tailnet)
    }

    /// The tailnet's e-mail domain (from its name), if it has one.
    pub(crate) fn domain(&self) -> Option<&str> {
        self.tailnet.as_deref()?.rsplit_once('@').map(|(_, d)| d)
    }

    /// The e-mail of a node's owner, for untagged nodes.
    pub(crate) fn owner_email(&self, node: &Node) -> Option<&str> {
        if node.is_tagged() {
            return None;
        }
        let name = node.user.as_deref()?;
        self.users
            .iter()
            .find(|u| u.name == name)
            .map(|u| u.email.as_str())
    }
}

/// The parts of `tailscale status --json` that describe the tailnet.
mod status {
    use super::null_as_empty;
    use ipnet::IpNet;
    use serde::Deserialize;
    use std::collections::BTreeMap;
    use std::net::IpAddr;

    #[derive(Deserialize)]
    pub(crate) struct Status {
        #[serde(rename = "Self")]
        pub(crate) self_node: Option<Peer>,
        #[serde(rename = "Peer", default)]
        pub(crate) peer: BTreeMap<String, Peer>,
        #[serde(rename = "User", default)]
        pub(crate) user: BTreeMap<String, UserProfile>,
        #[serde(rename = "CurrentTailnet")]
        pub(crate) current_tailnet: Option<CurrentTailnet>,
    }

    #[derive(Deserialize)]
    pub(crate) struct Peer {
        #[serde(rename = "HostName", default)]
        pub(crate) host_name: String,
        #[serde(rename = "TailscaleIPs", default, deserialize_with = "null_as_empty")]
        pub(crate) tailscale_ips: Vec<IpAddr>,
        #[serde(rename = "Tags", default, deserialize_with = "null_as_empty")]
        pub(crate) tags: Vec<String>,
        #[serde(rename = "UserID", default)]
        pub(crate) user_id: u64,
        #[serde(rename = "PrimaryRoutes", default, deserialize_with = "null_as_empty")]
        pub(crate) primary_routes: Vec<IpNet>,
    }

    #[derive(Deserialize)]
    pub(crate) struct UserProfile {
        #[serde(rename = "ID", default)]
        pub(crate) id: u64,
        #[serde(rename = "LoginName", default)]
        pub(crate) login_name: String,
    }

    #[derive(Deserialize)]
    pub(crate) struct CurrentTailnet {
        #[serde(rename = "Name", default)]
        pub(crate) name: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_topology_form_and_a_case_file() {
        let t = Tailnet::from_text(
            r#"{"tailnet": "odin@example.com", "users": [{"id": 1, "name": "odin", "email": "odin@example.com"}],
                "nodes": {"a": {"hostname": "a", "tags": [], "ipv4": "100.64.0.1", "ipv6": "fd7a:115c:a1e0::1",
                "user": "odin", "routable_ips": [], "approved_routes": []}}}"#,
        )
        .unwrap();
        assert_eq!(t.domain(), Some("example.com"));
        assert_eq!(t.owner_email(&t.nodes["a"]), Some("odin@example.com"));
        let case =
            Tailnet::from_text(r#"{"tailnet": "x@y.org", "topology": {"users": [], "nodes": {}}}"#)
                .unwrap();
        assert_eq!(case.domain(), Some("y.org"));
    }

    #[test]
    fn reads_tailscale_status_json() {
        let t = Tailnet::from_text(
            r#"{"Self": {"HostName": "laptop", "TailscaleIPs": ["100.64.0.1", "fd7a:115c:a1e0::1"], "UserID": 7, "Tags": null},
                "Peer": {"nodekey:ab": {"HostName": "relay", "TailscaleIPs": ["100.64.0.2"], "UserID": 7,
                         "Tags": ["tag:relay"], "PrimaryRoutes": ["10.0.0.0/24"]}},
                "User": {"7": {"ID": 7, "LoginName": "alice@example.com"}},
                "CurrentTailnet": {"Name": "alice@example.com", "MagicDNSSuffix": "tail1.ts.net"}}"#,
        )
        .unwrap();
        assert_eq!(t.domain(), Some("example.com"));
        assert_eq!(t.owner_email(&t.nodes["laptop"]), Some("alice@example.com"));
        assert_eq!(t.nodes["relay"].tags, vec!["tag:relay".to_string()]);
        assert_eq!(t.nodes["relay"].user, None);
        assert_eq!(t.nodes["relay"].approved_routes.len(), 1);
    }

    #[test]
    fn malformed_input_names_the_place() {
        let e = Tailnet::from_text(r#"{"nodes": {"a": {"ipv4": "300.1.1.1"}}}"#).unwrap_err();
        assert!(e.message.contains("nodes.a.ipv4"), "{}", e.message);
    }
}
