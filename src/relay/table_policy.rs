//! The [`AllocationPolicy`] of a real relay: the grant engine's
//! [`DecisionTable`] compiled from the policy file, and the tailnet file's disco
//! keys mapping each requester to its node.
//!
//! ```
//! use tailgrant::relay::policy::{AllocationPolicy, Denial};
//! use tailgrant::relay::table_policy::TablePolicy;
//!
//! let policy = r#"{
//!   "tagOwners": {"tag:relay": ["autogroup:admin"]},
//!   "grants": [{"src": ["alice@example.com"], "dst": ["tag:relay"],
//!               "app": {"tailscale.com/cap/relay": []}}]
//! }"#;
//! let key = |b: u8| format!("discokey:{}", format!("{b:02x}").repeat(32));
//! let tailnet = format!(r#"{{
//!   "tailnet": "alice@example.com",
//!   "users": [{{"name": "alice", "email": "alice@example.com"}},
//!             {{"name": "bob", "email": "bob@example.com"}}],
//!   "nodes": {{
//!     "laptop": {{"ipv4": "100.64.0.1", "user": "alice", "disco_key": "{}"}},
//!     "phone": {{"ipv4": "100.64.0.2", "user": "bob", "disco_key": "{}"}},
//!     "relay": {{"ipv4": "100.64.0.3", "tags": ["tag:relay"], "relay": {{"port": 7777}}}}
//!   }}
//! }}"#, key(1), key(2));
//! let tailnet = tailgrant::model::tailnet::Tailnet::from_text(&tailnet)?;
//! let table = TablePolicy::build(policy, &tailnet, "relay")?;
//! assert_eq!(table.authorize(&[1; 32]), Ok(()));
//! assert_eq!(table.authorize(&[2; 32]), Err(Denial::NoRelayGrant { node: "phone".into() }));
//! assert_eq!(table.authorize(&[3; 32]), Err(Denial::UnknownDiscoKey));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use blake2::{Blake2s256, Digest};

use super::disco::DiscoKey;
use super::keys::{parse_public, KeyError};
use super::policy::{AllocationPolicy, Denial, LoadedPolicy};
use crate::diagnostic::Findings;
use crate::engine::table::{DecisionTable, NodeIx, RelayDecision, RelayReason};
use crate::model::tailnet::{Tailnet, TailnetError};
use crate::model::validated::Validated;
use crate::model::Dialect;
use crate::span::Span;
use crate::validate::{validate_text, Options};

/// Why a [`TablePolicy`] cannot be built. The daemon never starts with, and
/// never swaps in, a policy that fails here.
#[derive(Debug, thiserror::Error)]
pub enum TablePolicyError {
    /// The policy file has errors (Tailscale would reject it).
    #[error("the policy file is not valid ({} error(s))", .findings.errors.len())]
    InvalidPolicy {
        /// Every error and warning, with spans into the policy text.
        findings: Findings,
    },
    /// The tailnet file cannot be read.
    #[error(transparent)]
    Tailnet(#[from] TailnetError),
    /// The relay's node is not in the tailnet.
    #[error("relay node `{0}` is not in the tailnet")]
    UnknownRelay(String),
    /// A node's disco key is malformed.
    #[error("node `{node}` has a malformed `disco_key`: {error}")]
    MalformedDiscoKey {
        /// The node.
        node: String,
        /// What is wrong.
        error: KeyError,
    },
    /// Two nodes claim the same disco key: a requester would be ambiguous.
    #[error("nodes `{0}` and `{1}` have the same `disco_key`")]
    DuplicateDiscoKey(String, String),
}

/// What the table says about one requester key, for diagnostics
/// (`tailgrant ping`): the node, the decision, and the spans of the grants
/// that decided it or, when nothing granted it, of the relay grants that were
/// considered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The requester's node, when its key is known.
    pub node: Option<String>,
    /// The decision; `Err` holds the denial the relay would count.
    pub decision: Result<(), Denial>,
    /// Spans (into the policy text) of the deciding grants, or of every
    /// grant carrying `tailscale.com/cap/relay` when none decided.
    pub grants: Vec<Span>,
}

/// The decision table of one policy and tailnet, seen from one relay node.
#[derive(Debug, Clone)]
pub struct TablePolicy {
    table: DecisionTable,
    relay: NodeIx,
    relay_name: String,
    nodes: HashMap<DiscoKey, NodeIx>,
    relay_grants: Vec<Span>,
}

impl TablePolicy {
    /// Checks `policy_text` against `tailnet`, compiles its decision table and
    /// maps every node's disco key to its node, for the relay node `relay`.
    pub fn build(
        policy_text: &str,
        tailnet: &Tailnet,
        relay: &str,
    ) -> Result<Self, TablePolicyError> {
        Self::build_in(policy_text, tailnet, relay, Dialect::Tailscale)
    }

    /// [`build`](Self::build), with the policy checked by `dialect`'s rules.
    pub fn build_in(
        policy_text: &str,
        tailnet: &Tailnet,
        relay: &str,
        dialect: Dialect,
    ) -> Result<Self, TablePolicyError> {
        // Validity only: the lints never make a policy invalid, and some cost more than
        // the compile on large policies.
        let report = validate_text(
            policy_text,
            &Options {
                tailnet: Some(tailnet),
                dialect,
            },
        );
        let policy = report
            .into_validated()
            .map_err(|findings| TablePolicyError::InvalidPolicy { findings })?;
        let table = DecisionTable::build(&relay_view(&policy), tailnet);
        let relay_ix = table
            .node(relay)
            .ok_or_else(|| TablePolicyError::UnknownRelay(relay.to_owned()))?;
        let mut nodes = HashMap::new();
        let mut owners: HashMap<DiscoKey, &str> = HashMap::new();
        for (name, node) in &tailnet.nodes {
            let Some(text) = node.disco_key.as_deref() else {
                continue;
            };
            let key = parse_public(text).map_err(|error| TablePolicyError::MalformedDiscoKey {
                node: name.clone(),
                error,
            })?;
            if let Some(other) = owners.insert(key, name) {
                return Err(TablePolicyError::DuplicateDiscoKey(
                    other.to_owned(),
                    name.clone(),
                ));
            }
            // Every tailnet node is in the table; a miss would be a bug in
            // the table, and the key then simply stays unknown.
            if let Some(ix) = table.node(name) {
                nodes.insert(key, ix);
            }
        }
        let relay_grants = policy.relay_grants().map(|g| g.span).collect();
        Ok(Self {
            table,
            relay: relay_ix,
            relay_name: relay.to_owned(),
            nodes,
            relay_grants,
        })
    }

    /// Reads the tailnet text, then [`build`](Self::build)s, and wraps the
    /// result as the daemon's [`LoadedPolicy`] with `generation` and the hash
    /// of both inputs.
    pub fn load(
        policy_text: &str,
        tailnet_text: &str,
        relay: &str,
        generation: u64,
    ) -> Result<LoadedPolicy, TablePolicyError> {
        Self::load_with_tailnet(
            policy_text,
            tailnet_text,
            relay,
            generation,
            Dialect::Tailscale,
        )
        .map(|(p, _)| p)
    }

    /// [`load`](Self::load), also returning the tailnet it parsed, so that a caller that
    /// needs more from the tailnet file (the relay node's settings) uses the very version
    /// the policy was compiled against instead of reading the file again; the policy is
    /// checked by `dialect`'s rules.
    pub(crate) fn load_with_tailnet(
        policy_text: &str,
        tailnet_text: &str,
        relay: &str,
        generation: u64,
        dialect: Dialect,
    ) -> Result<(LoadedPolicy, Tailnet), TablePolicyError> {
        let tailnet = Tailnet::from_text(tailnet_text)?;
        let built = Self::build_in(policy_text, &tailnet, relay, dialect)?;
        let hash = input_hash(policy_text.as_bytes(), tailnet_text.as_bytes());
        Ok((
            LoadedPolicy::new(Arc::new(built), generation, hash),
            tailnet,
        ))
    }

    /// The relay node's name.
    pub fn relay_name(&self) -> &str {
        &self.relay_name
    }

    /// The compiled table.
    pub fn table(&self) -> &DecisionTable {
        &self.table
    }

    /// How many disco keys map to nodes.
    pub fn known_keys(&self) -> usize {
        self.nodes.len()
    }

    /// The node holding disco key `key`.
    pub fn node_of(&self, key: &DiscoKey) -> Option<&str> {
        let ix = *self.nodes.get(key)?;
        self.table.entry(ix).map(|e| e.name.as_str())
    }

    fn decide(&self, requester: &DiscoKey) -> Option<(NodeIx, RelayDecision)> {
        let ix = *self.nodes.get(requester)?;
        Some((ix, self.table.may_allocate(ix, self.relay)))
    }

    fn denial(&self, ix: NodeIx, decision: &RelayDecision) -> Result<(), Denial> {
        let node = || {
            self.table
                .entry(ix)
                .map_or_else(String::new, |e| e.name.clone())
        };
        match decision.reason {
            RelayReason::Granted if decision.allowed => Ok(()),
            RelayReason::Granted | RelayReason::NoRelayGrant => {
                Err(Denial::NoRelayGrant { node: node() })
            }
            RelayReason::RelayServerDisabled => Err(Denial::RelayDisabled),
            RelayReason::UnknownNode => Err(Denial::UnknownDiscoKey),
        }
    }

    /// The decision for `requester` with the node and the grants behind it.
    pub fn explain(&self, requester: &DiscoKey) -> Explanation {
        let Some((ix, decision)) = self.decide(requester) else {
            return Explanation {
                node: None,
                decision: Err(Denial::UnknownDiscoKey),
                grants: Vec::new(),
            };
        };
        let verdict = self.denial(ix, &decision);
        let grants = if decision.grants.is_empty() {
            self.relay_grants.clone()
        } else {
            decision.grants
        };
        Explanation {
            node: self.table.entry(ix).map(|e| e.name.clone()),
            decision: verdict,
            grants,
        }
    }
}

impl AllocationPolicy for TablePolicy {
    /// A node of the tailnet file has this disco key.
    fn knows(&self, key: &DiscoKey) -> bool {
        self.nodes.contains_key(key)
    }

    fn authorize(&self, requester: &DiscoKey) -> Result<(), Denial> {
        let Some(&ix) = self.nodes.get(requester) else {
            return Err(Denial::UnknownDiscoKey);
        };
        // The hot path: a few lookups and no allocation. Only a denial asks for the
        // reason, which collects the grants behind it.
        if self.table.allows_allocation(ix, self.relay) {
            return Ok(());
        }
        // Never fail open: whatever the explanation says, the answer is no.
        match self.denial(ix, &self.table.may_allocate(ix, self.relay)) {
            Ok(()) => Err(Denial::Other(
                "the relay decision could not be explained".into(),
            )),
            denied => denied,
        }
    }
}

/// The part of `policy` that decides relay allocations: the grants carrying
/// `tailscale.com/cap/relay`, with everything they resolve through (groups, tags,
/// hosts, ipsets, postures, auto-approvers) and `nodeAttrs` (`disable-relay-server`).
/// ACLs and other grants give no application capability, so dropping them changes
/// no relay decision, while compiling them costs memory with the square of the node
/// count (an `autogroup:member` to `autogroup:member` grant on 10,000 nodes alone took
/// 4 GB and 26 s). Spans still point into the original text.
fn relay_view(policy: &Validated) -> Validated {
    policy.grants_only(crate::model::policy::Grant::is_relay_grant)
}

/// A stable digest of the inputs a policy was compiled from: BLAKE2s-256 of
/// the length-prefixed policy and tailnet bytes, the first 16 hex digits.
pub fn input_hash(policy: &[u8], tailnet: &[u8]) -> String {
    let mut h = Blake2s256::new();
    for part in [policy, tailnet] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::check_text;

    const POLICY: &str = r#"{
  "tagOwners": {"tag:relay": ["autogroup:admin"]},
  "grants": [
    {"src": ["alice@example.com"], "dst": ["tag:relay"], "app": {"tailscale.com/cap/relay": []}},
  ],
}"#;

    fn key(b: u8) -> String {
        format!("discokey:{}", format!("{b:02x}").repeat(32))
    }

    fn tailnet(extra_attr: &str, bob_key: &str) -> String {
        format!(
            r#"{{
  "tailnet": "alice@example.com",
  "users": [{{"name": "alice", "email": "alice@example.com"}},
            {{"name": "bob", "email": "bob@example.com"}}],
  "nodes": {{
    "laptop": {{"ipv4": "100.64.0.1", "user": "alice", "disco_key": "{}"}},
    "phone": {{"ipv4": "100.64.0.2", "user": "bob", "disco_key": "{bob_key}"}},
    "relay": {{"ipv4": "100.64.0.3", "tags": ["tag:relay"], "attributes": [{extra_attr}],
               "relay": {{"port": 7777}}}}
  }}
}}"#,
            key(1)
        )
    }

    fn build(tailnet_text: &str) -> Result<TablePolicy, TablePolicyError> {
        let t = Tailnet::from_text(tailnet_text).unwrap();
        TablePolicy::build(POLICY, &t, "relay")
    }

    #[test]
    fn grant_decides_per_key() {
        let p = build(&tailnet("", &key(2))).unwrap();
        assert_eq!(p.known_keys(), 2);
        assert_eq!(p.authorize(&[1; 32]), Ok(()));
        assert_eq!(
            p.authorize(&[2; 32]),
            Err(Denial::NoRelayGrant {
                node: "phone".into()
            })
        );
        assert_eq!(p.authorize(&[9; 32]), Err(Denial::UnknownDiscoKey));
        assert!(!p.knows(&[9; 32]));
        assert!(
            p.knows(&[1; 32]) && p.knows(&[2; 32]),
            "denied is still known"
        );
        assert_eq!(p.node_of(&[2; 32]), Some("phone"));
        assert_eq!(p.relay_name(), "relay");
    }

    #[test]
    fn explanation_points_at_grants() {
        let p = build(&tailnet("", &key(2))).unwrap();
        let grant_start = POLICY.find("{\"src\"").unwrap();
        let allowed = p.explain(&[1; 32]);
        assert_eq!(allowed.decision, Ok(()));
        assert_eq!(allowed.node.as_deref(), Some("laptop"));
        assert_eq!(allowed.grants.len(), 1);
        assert_eq!(allowed.grants[0].start, grant_start);
        // Nothing decided the denial: the relay grants considered are listed.
        let denied = p.explain(&[2; 32]);
        assert!(denied.decision.is_err());
        assert_eq!(denied.grants, allowed.grants);
        let unknown = p.explain(&[9; 32]);
        assert_eq!(unknown.node, None);
        assert_eq!(unknown.decision, Err(Denial::UnknownDiscoKey));
    }

    #[test]
    fn disabled_relay_denies_everyone() {
        let p = build(&tailnet("\"disable-relay-server\"", &key(2))).unwrap();
        assert_eq!(p.authorize(&[1; 32]), Err(Denial::RelayDisabled));
    }

    #[test]
    fn bad_inputs_are_errors() {
        let bad_key = build(&tailnet("", "discokey:12")).unwrap_err();
        assert_eq!(
            bad_key.to_string(),
            "node `phone` has a malformed `disco_key`: expected 64 hex digits after `discokey:`"
        );
        let dup = build(&tailnet("", &key(1))).unwrap_err();
        assert!(matches!(dup, TablePolicyError::DuplicateDiscoKey(..)));
        let t = Tailnet::from_text(&tailnet("", &key(2))).unwrap();
        let unknown = TablePolicy::build(POLICY, &t, "nope").unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "relay node `nope` is not in the tailnet"
        );
        let broken = TablePolicy::build(r#"{"grants": [{"src": ["*"]}]}"#, &t, "relay");
        match broken {
            Err(TablePolicyError::InvalidPolicy { findings }) => {
                assert!(!findings.errors.is_empty())
            }
            other => panic!("expected an invalid policy, got {other:?}"),
        }
        let syntax = TablePolicy::build("{", &t, "relay");
        assert!(matches!(
            syntax,
            Err(TablePolicyError::InvalidPolicy { .. })
        ));
    }

    /// Building for the relay runs what decides validity, never the lints: they cannot make
    /// a policy invalid, and some cost more than the compile on large policies.
    #[test]
    fn the_relay_build_runs_no_lints() {
        let t = Tailnet::from_text(&tailnet("", &key(2))).unwrap();
        // An unused group (a lint) beside a grant with neither `ip` nor `app` (an error).
        let text = POLICY.replace(
            "\"grants\": [",
            "\"groups\": {\"group:unused\": [\"alice@example.com\"]},\n  \"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"]},",
        );
        let full = check_text(
            &text,
            &Options {
                tailnet: Some(&t),
                ..Default::default()
            },
        )
        .findings;
        assert!(
            !full.warnings.is_empty() && !full.errors.is_empty(),
            "{full:?}"
        );
        match TablePolicy::build(&text, &t, "relay") {
            Err(TablePolicyError::InvalidPolicy { findings }) => {
                assert!(findings.warnings.is_empty(), "{:?}", findings.warnings);
                assert_eq!(findings.errors, full.errors);
            }
            other => panic!("expected an invalid policy, got {other:?}"),
        }
    }

    /// The relay view decides every (requester, relay) pair as the full policy does.
    #[test]
    fn relay_view_decides_as_the_full_policy() {
        let region = include_str!("../../policy-examples/relays-per-region.hujson");
        let region_tailnet = include_str!("../../fixtures/tailnet.json");
        let disabled = POLICY.replace(
            "\"grants\"",
            "\"nodeAttrs\": [{\"target\": [\"tag:relay\"], \"attr\": [\"disable-relay-server\"]}],\n  \"grants\"",
        );
        let mine = tailnet("", &key(2));
        for (policy, tailnet_text) in [
            (POLICY, mine.as_str()),
            (disabled.as_str(), mine.as_str()),
            (region, region_tailnet),
        ] {
            let t = Tailnet::from_text(tailnet_text).unwrap();
            let report = check_text(
                policy,
                &Options {
                    tailnet: Some(&t),
                    ..Default::default()
                },
            );
            assert!(report.is_valid(), "{:?}", report.findings.errors);
            let full_policy = report.into_validated().unwrap();
            let full = DecisionTable::build(&full_policy, &t);
            let view = DecisionTable::build(&relay_view(&full_policy), &t);
            let n = u32::try_from(full.len()).unwrap();
            let mut allowed = 0;
            for a in 0..n {
                for b in 0..n {
                    let (x, y) = (full.may_allocate(a, b), view.may_allocate(a, b));
                    assert_eq!(x, y, "requester {a} relay {b}");
                    allowed += usize::from(x.allowed);
                }
            }
            assert!(allowed > 0 || policy.contains("disable-relay-server"));
        }
    }

    #[test]
    fn load_hashes_inputs_and_keeps_generation() {
        let t = tailnet("", &key(2));
        let a = TablePolicy::load(POLICY, &t, "relay", 3).unwrap();
        assert!(a.valid);
        assert_eq!(a.generation, 3);
        assert_eq!(a.hash.len(), 16);
        assert_eq!(a.hash, input_hash(POLICY.as_bytes(), t.as_bytes()));
        let b = TablePolicy::load(POLICY, &t, "relay", 4).unwrap();
        assert_eq!(a.hash, b.hash);
        // Moving bytes between the two inputs changes the hash.
        assert_ne!(input_hash(b"ab", b"c"), input_hash(b"a", b"bc"));
        assert!(matches!(
            TablePolicy::load(POLICY, "{", "relay", 1),
            Err(TablePolicyError::Tailnet(_))
        ));
    }
}
