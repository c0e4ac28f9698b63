//! The relay's questions (SPEC section 4): may this requester allocate on this relay?
//!
//! [`DecisionTable::allows_allocation`] is the hot path of a relay server: it starts from the
//! requester's precomputed source class and allocates nothing. [`DecisionTable::may_allocate`]
//! also says why and which grants decided. Both agree with the general query: a requester
//! may allocate iff the relay server is not disabled and
//! `decide(&Query { src: requester's first address, dst: Dest::Node(relay) })` holds
//! [`RELAY_CAP`](super::RELAY_CAP) (checked by property tests on generated policies and tailnets).

use super::{DecisionTable, NodeIx};
use crate::span::Span;

/// Why an allocation was allowed or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayReason {
    /// The requester holds `tailscale.com/cap/relay` towards the relay.
    Granted,
    /// No grant gives the requester the relay capability towards the relay.
    NoRelayGrant,
    /// The relay has the `disable-relay-server` attribute.
    RelayServerDisabled,
    /// The requester or the relay is not a node of the tailnet.
    UnknownNode,
}

/// The answer to "may this requester allocate on this relay?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayDecision {
    /// Whether the relay accepts the allocation.
    pub allowed: bool,
    /// Why.
    pub reason: RelayReason,
    /// Spans of the grants (or the `nodeAttrs` entry) that decided it.
    pub grants: Vec<Span>,
}

impl RelayDecision {
    fn refused(reason: RelayReason, grants: Vec<Span>) -> Self {
        Self {
            allowed: false,
            reason,
            grants,
        }
    }
}

impl DecisionTable {
    /// The relay decision alone, without its reason or grants: the hot path of a relay
    /// server (no allocation; ask [`DecisionTable::may_allocate`] to explain a denial).
    /// Always equal to `self.may_allocate(requester, relay).allowed`.
    pub fn allows_allocation(&self, requester: NodeIx, relay: NodeIx) -> bool {
        let (Some(req), Some(rel)) = (
            self.nodes.get(requester as usize),
            self.nodes.get(relay as usize),
        ) else {
            return false;
        };
        rel.relay_disabled_by.is_none()
            && !rel.relay_disabled_in_tailnet
            && self
                .node_answer(req.src_class, relay)
                .is_some_and(|a| a.caps.iter().any(|(n, _, _)| *n == self.relay_cap))
    }

    /// Tailscale's relay rule (SPEC section 4): the relay accepts an allocation from
    /// `requester` iff the requester's first address holds `tailscale.com/cap/relay`
    /// towards the relay in the relay's filter, and the relay server is not disabled.
    pub fn may_allocate(&self, requester: NodeIx, relay: NodeIx) -> RelayDecision {
        let (Some(req), Some(rel)) = (
            self.nodes.get(requester as usize),
            self.nodes.get(relay as usize),
        ) else {
            return RelayDecision::refused(RelayReason::UnknownNode, Vec::new());
        };
        if let Some(span) = rel.relay_disabled_by {
            return RelayDecision::refused(
                RelayReason::RelayServerDisabled,
                self.spans_of(&[span]),
            );
        }
        if rel.relay_disabled_in_tailnet {
            return RelayDecision::refused(RelayReason::RelayServerDisabled, Vec::new());
        }
        let granting = self.node_answer(req.src_class, relay).and_then(|a| {
            a.caps
                .iter()
                .find(|(n, _, _)| *n == self.relay_cap)
                .map(|(_, _, o)| self.spans_of(o))
        });
        match granting {
            Some(grants) => RelayDecision {
                allowed: true,
                reason: RelayReason::Granted,
                grants,
            },
            None => RelayDecision::refused(RelayReason::NoRelayGrant, Vec::new()),
        }
    }
}
