//! What the core answers for one datagram ([`Action`]), what a reply was ([`ReplyKind`]),
//! why a datagram is dropped ([`DropReason`], each with a stable metrics label) and what a
//! revocation closed ([`ClosedEndpoint`]). Plain data: the daemon counts and logs it.

use std::net::SocketAddr;

use crate::relay::disco::DiscoError;
use crate::relay::geneve::GeneveError;
use crate::relay::policy::Denial;

/// What to do with a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send the datagram, unchanged, to this address.
    Forward(SocketAddr),
    /// Send the bytes left in `out` back to the source.
    Reply(ReplyKind),
    /// A leg bound; nothing to send.
    Bound {
        /// The endpoint.
        vni: u32,
        /// Whether both legs are now bound.
        open: bool,
    },
    /// Drop the datagram, counted under this reason.
    Drop(DropReason),
}

/// What a reply is, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// A bind challenge.
    Challenge,
    /// An allocation response; `new` is false when the pair's existing
    /// endpoint was returned.
    Allocated {
        /// The endpoint's VNI.
        vni: u32,
        /// Whether the endpoint was created by this request.
        new: bool,
    },
}

/// Why a datagram was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// A STUN binding message: Tailscale's relay server answers none
    /// (`net/udprelay/server.go`, `handlePacket`, hands them to its own
    /// netcheck client and replies nothing), so neither does this one.
    Stun,
    /// A bad Geneve header.
    Geneve(GeneveError),
    /// A malformed or unopenable disco message.
    Disco(DiscoError),
    /// A disco message whose claimed sender is neither
    /// [known](crate::relay::policy::AllocationPolicy::knows) to the policy nor, for bind and
    /// answer messages, one of an endpoint's pair: dropped before any
    /// cryptography.
    UnknownSender,
    /// A nonce already seen from this sender.
    Replay,
    /// A message type the relay does not take on this path.
    UnexpectedMessage,
    /// No endpoint has this VNI (or it expired).
    UnknownVni,
    /// The VNI in the box differs from the Geneve header's.
    WrongVni,
    /// The sender or the remote key is not the endpoint's pair, or the
    /// requester is not one of the pair it asks for.
    NotInPair,
    /// The answer does not match a challenge for this source.
    BadChallenge,
    /// A Bind with generation 0, or an Answer whose generation is not the
    /// leg's handshake in progress (`handleDiscoControlMsg` in Tailscale's
    /// `net/udprelay/server.go`).
    BadGeneration,
    /// The pair asked for contains the relay's own disco key (Tailscale's
    /// `AllocateEndpoint`: "client disco equals server disco").
    ServerKeyInPair,
    /// No address to advertise yet, so no usable answer (Tailscale's
    /// `ErrServerNotReady`).
    NotReady,
    /// Data before both legs are bound.
    NotBound,
    /// Data from an address that is not a bound leg.
    UnboundSource,
    /// The policy refused the allocation.
    Denied(Denial),
    /// The sender's allocation rate limit was hit.
    RateLimited,
    /// The total endpoint limit was hit.
    TooManyEndpoints,
    /// The requester's endpoint limit was hit.
    TooManyForNode,
}

impl DropReason {
    /// A short stable label for metrics.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            DropReason::Stun => "stun",
            DropReason::Geneve(_) => "bad_geneve",
            DropReason::Disco(DiscoError::BadBox) => "bad_box",
            DropReason::Disco(_) => "bad_disco",
            DropReason::UnknownSender => "unknown_sender",
            DropReason::Replay => "replay",
            DropReason::UnexpectedMessage => "unexpected_message",
            DropReason::UnknownVni => "unknown_vni",
            DropReason::WrongVni => "wrong_vni",
            DropReason::NotInPair => "not_in_pair",
            DropReason::BadChallenge => "bad_challenge",
            DropReason::BadGeneration => "bad_generation",
            DropReason::ServerKeyInPair => "server_key_in_pair",
            DropReason::NotReady => "not_ready",
            DropReason::NotBound => "not_bound",
            DropReason::UnboundSource => "unbound_source",
            DropReason::Denied(_) => "denied",
            DropReason::RateLimited => "rate_limited",
            DropReason::TooManyEndpoints => "too_many_endpoints",
            DropReason::TooManyForNode => "too_many_for_node",
        }
    }
}

/// An endpoint closed by a policy change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedEndpoint {
    /// Its VNI.
    pub(crate) vni: u32,
    /// Why the last requester lost it.
    pub(crate) denial: Denial,
}
