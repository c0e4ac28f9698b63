//! Who may allocate on this relay: the [`AllocationPolicy`] the core asks on
//! every allocation request, and the handle the daemon reloads atomically.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::disco::DiscoKey;

/// Decides allocations. Implemented by the grant engine's decision table (the
/// tailnet file maps disco keys to nodes); [`StaticPolicy`] is an in-memory one.
pub trait AllocationPolicy: Send + Sync {
    /// Decide whether the node holding disco key `requester` may allocate on
    /// this relay.
    fn authorize(&self, requester: &DiscoKey) -> Result<(), Denial>;

    /// Whether `key` belongs to the tailnet at all: a cheap lookup the relay
    /// makes before any cryptography, dropping a message from an unknown
    /// sender without computing a shared key for it. The default knows every
    /// key (a policy that cannot tell, e.g. a test's); [`authorize`] still
    /// decides allocations.
    ///
    /// [`authorize`]: AllocationPolicy::authorize
    fn knows(&self, key: &DiscoKey) -> bool {
        let _ = key;
        true
    }
}

/// Why an allocation is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Denial {
    /// The disco key belongs to no node of the tailnet.
    #[error("disco key is not known to the tailnet")]
    UnknownDiscoKey,
    /// The requester has no `tailscale.com/cap/relay` grant towards the relay.
    #[error("`{node}` has no `tailscale.com/cap/relay` grant towards this relay")]
    NoRelayGrant {
        /// The requesting node.
        node: String,
    },
    /// The relay node carries the `disable-relay-server` attribute.
    #[error("this relay carries `disable-relay-server`")]
    RelayDisabled,
    /// No valid policy has been loaded yet.
    #[error("no valid policy is loaded")]
    NoPolicy,
    /// Any other reason, with its explanation.
    #[error("{0}")]
    Other(String),
}

impl Denial {
    /// A short stable label for metrics.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Denial::UnknownDiscoKey => "unknown_disco_key",
            Denial::NoRelayGrant { .. } => "no_relay_grant",
            Denial::RelayDisabled => "relay_disabled",
            Denial::NoPolicy => "no_policy",
            Denial::Other(_) => "other",
        }
    }
}

/// A policy held in memory: a decision per known disco key, and one for
/// every other key (by default [`Denial::UnknownDiscoKey`]).
#[derive(Debug, Clone)]
pub struct StaticPolicy {
    decisions: HashMap<DiscoKey, Result<(), Denial>>,
    otherwise: Result<(), Denial>,
    /// Whether only the listed keys are [known](AllocationPolicy::knows).
    known_only: bool,
}

impl StaticPolicy {
    /// Allows exactly `keys`; every other key is unknown.
    pub fn allow(keys: impl IntoIterator<Item = DiscoKey>) -> Self {
        Self {
            decisions: keys.into_iter().map(|k| (k, Ok(()))).collect(),
            otherwise: Err(Denial::UnknownDiscoKey),
            known_only: false,
        }
    }

    /// Denies everyone with `denial`.
    pub fn deny_all(denial: Denial) -> Self {
        Self {
            decisions: HashMap::new(),
            otherwise: Err(denial),
            known_only: false,
        }
    }

    /// Sets the decision for `key`.
    pub fn with(mut self, key: DiscoKey, decision: Result<(), Denial>) -> Self {
        self.decisions.insert(key, decision);
        self
    }

    /// Knows only the keys with a decision, like a tailnet knows its nodes'
    /// keys; by default every key is known.
    pub fn known_only(mut self) -> Self {
        self.known_only = true;
        self
    }
}

impl AllocationPolicy for StaticPolicy {
    fn authorize(&self, requester: &DiscoKey) -> Result<(), Denial> {
        self.decisions
            .get(requester)
            .cloned()
            .unwrap_or_else(|| self.otherwise.clone())
    }

    fn knows(&self, key: &DiscoKey) -> bool {
        !self.known_only || self.decisions.contains_key(key)
    }
}

/// One loaded policy with what identifies it.
#[derive(Clone)]
pub struct LoadedPolicy {
    /// The decisions.
    pub(crate) policy: Arc<dyn AllocationPolicy>,
    /// Increases with every successful load.
    pub generation: u64,
    /// A digest of the inputs it was compiled from (shown in metrics).
    pub hash: String,
    /// Whether it came from a valid policy file (`/readyz`).
    pub valid: bool,
}

impl LoadedPolicy {
    /// A valid policy.
    pub fn new(
        policy: Arc<dyn AllocationPolicy>,
        generation: u64,
        hash: impl Into<String>,
    ) -> Self {
        Self {
            policy,
            generation,
            hash: hash.into(),
            valid: true,
        }
    }

    /// The placeholder before any valid policy: denies everything, not ready.
    pub fn none() -> Self {
        Self {
            policy: Arc::new(StaticPolicy::deny_all(Denial::NoPolicy)),
            generation: 0,
            hash: String::new(),
            valid: false,
        }
    }
}

impl fmt::Debug for LoadedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedPolicy")
            .field("generation", &self.generation)
            .field("hash", &self.hash)
            .field("valid", &self.valid)
            .finish_non_exhaustive()
    }
}

/// The policy shared between the reloader and the daemon, swapped atomically.
pub type SharedPolicy = Arc<ArcSwap<LoadedPolicy>>;

/// A [`SharedPolicy`] holding `policy`.
pub fn shared(policy: LoadedPolicy) -> SharedPolicy {
    Arc::new(ArcSwap::from_pointee(policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_policy_decides_per_key() {
        let p = StaticPolicy::allow([[1; 32]]).with(
            [2; 32],
            Err(Denial::NoRelayGrant {
                node: "laptop".into(),
            }),
        );
        assert_eq!(p.authorize(&[1; 32]), Ok(()));
        assert_eq!(p.authorize(&[2; 32]).unwrap_err().label(), "no_relay_grant");
        assert_eq!(p.authorize(&[3; 32]), Err(Denial::UnknownDiscoKey));
        assert!(p.knows(&[3; 32]), "every key is known by default");
        let strict = p.clone().known_only();
        assert!(strict.knows(&[1; 32]) && strict.knows(&[2; 32]));
        assert!(!strict.knows(&[3; 32]));
        assert_eq!(
            p.authorize(&[2; 32]).unwrap_err().to_string(),
            "`laptop` has no `tailscale.com/cap/relay` grant towards this relay"
        );
    }

    #[test]
    fn placeholder_denies_and_is_not_ready() {
        let p = LoadedPolicy::none();
        assert!(!p.valid);
        assert_eq!(p.policy.authorize(&[1; 32]), Err(Denial::NoPolicy));
    }
}
