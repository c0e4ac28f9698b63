//! A Headscale tailnet: what `headscale users list -o json` and `headscale nodes list -o json`
//! print, read onto the [`Tailnet`] model.
//!
//! The shapes come from Headscale's source (juanfont/headscale):
//!
//! - Releases up to v0.29 print the protobuf structs of `gen/go/headscale/v1/node.pb.go` and
//!   `user.pb.go` with Go's `encoding/json` (`cmd/headscale/cli/utils.go`, `output` /
//!   `formatOutput`: `json.MarshalIndent`), so keys are the proto field names in snake_case
//!   (`ip_addresses`, `given_name`, `approved_routes`), empty fields are left out
//!   (`omitempty`) and ids are numbers (a user's `id` is a string up to v0.23,
//!   `proto/headscale/v1/user.proto`).
//! - The development branch prints the REST client's structs (`gen/client/v1/client.gen.go`):
//!   lowerCamelCase keys (`ipAddresses`, `givenName`, `approvedRoutes`, `providerId`), ids as
//!   strings, empty lists as `null`. The gRPC gateway's protojson has the same names.
//!
//! Both spellings are accepted. Tags changed in v0.28 (`proto/headscale/v1/node.proto`):
//! v0.28 and later give the node's tags in `tags`; up to v0.27 they are `forced_tags` (set
//! by the admin) and `valid_tags` (requested and allowed by `tagOwners`; since v0.26 it
//! includes the forced ones, `hscontrol/grpcv1.go` `nodesToProto`), while `invalid_tags` are
//! requested tags the policy refused, which the node does not carry. When `tags` is present
//! it is the answer; otherwise the union of `forced_tags` and `valid_tags`.
//!
//! A node serves the routes it announces (`available_routes`) that the admin approved
//! (`approved_routes`, since v0.26), as Headscale's `Node.SubnetRoutes` computes them
//! (`hscontrol/types/node.go`), exit routes kept apart by the engine as for Tailscale.
//! Before v0.26 routes were listed apart (`headscale routes list`), so nodes read from those
//! versions have none.
//!
//! A user's login name is Headscale's `User.Username` (`hscontrol/types/users.go`): the
//! e-mail, else the name, else the provider id, else the numeric id. Policies name a user
//! by e-mail or by `name@`, both of which the model resolves.

use super::tailnet::{Node, Tailnet, TailnetError, User};
use ipnet::IpNet;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::IpAddr;

/// How to make the input, said with every error.
const HOW: &str = "give the output of `headscale nodes list -o json` as is, or \
                   `{\"users\": <headscale users list -o json>, \"nodes\": <headscale nodes list -o json>}`";

impl Tailnet {
    /// Reads a Headscale tailnet from what `headscale users list -o json` (`users`) and
    /// `headscale nodes list -o json` (`nodes`) print. Users who own no node come from the
    /// first; each node's owner comes with the node, so the user list may be `[]`.
    pub fn from_headscale(users: &str, nodes: &str) -> Result<Self, TailnetError> {
        let users = parse_json(users, "users")?;
        let nodes = parse_json(nodes, "nodes")?;
        Self::from_headscale_json(Some(&users), &nodes)
    }

    /// Reads a Headscale tailnet from the two lists, already parsed.
    pub(crate) fn from_headscale_json(
        users: Option<&serde_json::Value>,
        nodes: &serde_json::Value,
    ) -> Result<Self, TailnetError> {
        let users: Vec<HsUser> = match users {
            Some(v) => decode(v, "headscale users list")?,
            None => Vec::new(),
        };
        let nodes: Vec<HsNode> = decode(nodes, "headscale nodes list")?;
        let mut tailnet = Tailnet::default();
        // Each node repeats its owner (without its provider identifier up to some
        // releases): keep one of each, in linear time, with what any listing says of it.
        let mut seen: HashMap<(u64, String, String), usize> = HashMap::new();
        for u in users
            .iter()
            .chain(nodes.iter().filter_map(|n| n.user.as_ref()))
        {
            let user = u.to_model();
            let key = (user.id, user.name.clone(), user.email.clone());
            match seen.get(&key).and_then(|&i| tailnet.users.get_mut(i)) {
                Some(kept) => {
                    if kept.provider_id.is_none() {
                        kept.provider_id = user.provider_id;
                    }
                }
                None => {
                    seen.insert(key, tailnet.users.len());
                    tailnet.users.push(user);
                }
            }
        }
        tailnet.users.sort_by_key(|u| u.id);
        // The next suffix to try per name, so that many nodes of one name stay linear.
        let mut suffix: HashMap<String, usize> = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            let node = n.to_model(i)?;
            let base = if n.given_name.is_empty() {
                &n.name
            } else {
                &n.given_name
            };
            let mut name = base.clone();
            let k = suffix.entry(base.clone()).or_insert(1);
            while tailnet.nodes.contains_key(&name) {
                *k += 1;
                name = format!("{base}-{k}");
            }
            tailnet.nodes.insert(name, node);
        }
        Ok(tailnet)
    }
}

/// Why a user token of a policy names no single user of a Headscale tailnet, with
/// Headscale's words for it (`hscontrol/policy/v2/types.go`, `ErrUserNotFound` and
/// `ErrMultipleUsersFound` as `Username.resolveUser` wraps them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UserLookupError {
    /// No user has the token as provider identifier, e-mail or name.
    NotFound { token: String },
    /// More than one user has it as e-mail or name: their ids and names, in list order.
    Multiple {
        token: String,
        users: Vec<(u64, String)>,
    },
}

impl std::fmt::Display for UserLookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound { token } => write!(f, "user not found: token {token:?}"),
            // `types.Users.String` (`hscontrol/types/users.go`) lists `id: name, ` in brackets.
            Self::Multiple { token, users } => {
                write!(f, "multiple users found: token {token:?} found: [ ")?;
                for (id, name) in users {
                    write!(f, "{id}: {name}, ")?;
                }
                f.write_str(" ]")
            }
        }
    }
}

impl Tailnet {
    /// The user a policy's user token names under Headscale's rules
    /// (`hscontrol/policy/v2/types.go`, `Username.resolveUser`): the trailing `@` that
    /// Headscale requires of a name without a domain (`bob@`) is dropped; a user whose
    /// provider identifier is the token wins at once; otherwise the users whose e-mail or
    /// name is the token, of which there must be exactly one.
    pub(crate) fn headscale_user(&self, token: &str) -> Result<&User, UserLookupError> {
        let wanted = token.strip_suffix('@').unwrap_or(token);
        let mut found: Vec<&User> = Vec::new();
        for u in &self.users {
            if u.provider_id.as_deref() == Some(wanted) {
                return Ok(u);
            }
            if u.email == wanted || u.name == wanted {
                found.push(u);
            }
        }
        match found.as_slice() {
            [one] => Ok(one),
            [] => Err(UserLookupError::NotFound {
                token: token.to_string(),
            }),
            many => Err(UserLookupError::Multiple {
                token: token.to_string(),
                users: many.iter().map(|u| (u.id, u.name.clone())).collect(),
            }),
        }
    }
}

/// True when a parsed tailnet file has a Headscale shape: a list of nodes, or an object
/// whose `nodes` is a list (the topology form keys its nodes by name).
pub(crate) fn is_headscale(json: &serde_json::Value) -> bool {
    json.is_array() || json.get("nodes").is_some_and(serde_json::Value::is_array)
}

/// Reads a tailnet file of a Headscale shape (see [`is_headscale`]).
pub(crate) fn from_file_json(json: &serde_json::Value) -> Result<Tailnet, TailnetError> {
    match json {
        serde_json::Value::Array(_) => Tailnet::from_headscale_json(None, json),
        serde_json::Value::Object(obj) => {
            if let Some(key) = obj.keys().find(|k| *k != "users" && *k != "nodes") {
                return Err(TailnetError {
                    message: format!(
                        "unknown key `{key}` in a Headscale tailnet (only `users` and `nodes`); {HOW}"
                    ),
                });
            }
            let nodes = obj.get("nodes").unwrap_or(&serde_json::Value::Null);
            Tailnet::from_headscale_json(obj.get("users"), nodes)
        }
        _ => Tailnet::from_headscale_json(None, json),
    }
}

fn parse_json(text: &str, what: &str) -> Result<serde_json::Value, TailnetError> {
    let (node, _) = crate::syntax::hujson::parse(text).map_err(|d| TailnetError {
        message: format!("Headscale {what} list: {}", d.message),
    })?;
    Ok(node.to_json())
}

fn decode<T: serde::de::DeserializeOwned>(
    json: &serde_json::Value,
    what: &str,
) -> Result<T, TailnetError> {
    serde_path_to_error::deserialize(json).map_err(|e| {
        let at = e.path().to_string();
        let at = if at == "." {
            String::new()
        } else {
            format!(" at `{at}`")
        };
        TailnetError {
            message: format!("`{what} -o json` output{at}: {}; {HOW}", e.inner()),
        }
    })
}

/// A user as Headscale prints it (`User` in `user.pb.go` / `client.gen.go`).
#[derive(Deserialize)]
struct HsUser {
    #[serde(default, deserialize_with = "id")]
    id: u64,
    #[serde(default, deserialize_with = "string")]
    name: String,
    #[serde(default, deserialize_with = "string")]
    email: String,
    #[serde(default, alias = "providerId", deserialize_with = "string")]
    provider_id: String,
}

impl HsUser {
    fn to_model(&self) -> User {
        let id = self.id.to_string();
        let login = [&self.email, &self.name, &self.provider_id, &id]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or(&id);
        User {
            id: self.id,
            name: if self.name.is_empty() {
                login.clone()
            } else {
                self.name.clone()
            },
            email: login.clone(),
            provider_id: (!self.provider_id.is_empty()).then(|| self.provider_id.clone()),
        }
    }
}

/// A node as Headscale prints it (`Node` in `node.pb.go` / `client.gen.go`).
#[derive(Deserialize)]
struct HsNode {
    #[serde(default, deserialize_with = "string")]
    name: String,
    #[serde(default, alias = "givenName", deserialize_with = "string")]
    given_name: String,
    #[serde(default, alias = "ipAddresses", deserialize_with = "list")]
    ip_addresses: Vec<IpAddr>,
    #[serde(default)]
    user: Option<HsUser>,
    /// v0.28 and later.
    #[serde(default, deserialize_with = "opt_list")]
    tags: Option<Vec<String>>,
    /// Up to v0.27.
    #[serde(default, alias = "forcedTags", deserialize_with = "list")]
    forced_tags: Vec<String>,
    /// Up to v0.27.
    #[serde(default, alias = "validTags", deserialize_with = "list")]
    valid_tags: Vec<String>,
    #[serde(default, alias = "approvedRoutes", deserialize_with = "list")]
    approved_routes: Vec<IpNet>,
    #[serde(default, alias = "availableRoutes", deserialize_with = "list")]
    available_routes: Vec<IpNet>,
    #[serde(default, alias = "discoKey", deserialize_with = "string")]
    disco_key: String,
}

impl HsNode {
    fn to_model(&self, index: usize) -> Result<Node, TailnetError> {
        if self.name.is_empty() && self.given_name.is_empty() {
            return Err(TailnetError {
                message: format!(
                    "`headscale nodes list -o json` output at `[{index}]`: the node has neither \
                     `name` nor `given_name`; {HOW}"
                ),
            });
        }
        let mut tags: Vec<String> = match &self.tags {
            Some(t) => t.clone(),
            None => self
                .forced_tags
                .iter()
                .chain(&self.valid_tags)
                .cloned()
                .collect(),
        };
        tags.sort();
        tags.dedup();
        let user = self
            .user
            .as_ref()
            .filter(|_| tags.is_empty())
            .map(|u| u.to_model().name);
        let approved: Vec<IpNet> = self
            .available_routes
            .iter()
            .filter(|r| self.approved_routes.contains(r))
            .copied()
            .collect();
        Ok(Node {
            hostname: self.name.clone(),
            tags,
            ipv4: self.ip_addresses.iter().find_map(|ip| match ip {
                IpAddr::V4(v4) => Some(*v4),
                IpAddr::V6(_) => None,
            }),
            ipv6: self.ip_addresses.iter().find_map(|ip| match ip {
                IpAddr::V6(v6) => Some(*v6),
                IpAddr::V4(_) => None,
            }),
            user,
            routable_ips: self.available_routes.clone(),
            approved_routes: approved,
            disco_key: (!self.disco_key.is_empty()).then(|| self.disco_key.clone()),
            ..Node::default()
        })
    }
}

/// An id, a number (releases) or a string of digits (the REST client, and users up to
/// v0.23); `null` is 0.
fn id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u64),
        Text(String),
    }
    match Option::<Id>::deserialize(d)? {
        None => Ok(0),
        Some(Id::Number(n)) => Ok(n),
        Some(Id::Text(s)) if s.is_empty() => Ok(0),
        Some(Id::Text(s)) => s.parse().map_err(|_| {
            serde::de::Error::custom(format!("the id `{s}` is not a number of at most 20 digits"))
        }),
    }
}

/// A string; `null` is empty.
fn string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// A list; `null` is empty (the REST client writes empty lists as `null`).
fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A list that may be absent (then `None`); `null` is an empty list.
fn opt_list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Some(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default()))
}

#[cfg(test)]
mod tests;
