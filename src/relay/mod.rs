//! The peer relay: Tailscale's UDP relay data plane (`net/udprelay`) with an
//! allocation policy asked on every request.
//!
//! Two layers, two cargo features (the boringtun split):
//!
//! - **The protocol core** (`relay-core`): the disco envelope ([`disco`]), Geneve
//!   framing ([`geneve`]), keys ([`keys`]), the bind challenge (`challenge`), STUN
//!   ([`stun`]), the server's allocation and binding state machine ([`server`]) and the
//!   policy seam ([`policy`], [`table_policy`]). It does no I/O and has no async
//!   runtime: [`server::RelayServer::handle`] takes a datagram, its source and the
//!   current time, and returns an [`server::Action`]. [`client::RelayClient`] is the
//!   other side. An embedder with its own event loop depends on this feature alone.
//! - **The daemon** (`relay`, on the core): `daemon` is a thin tokio socket loop
//!   around the core (sockets, batched I/O, accounting), `metrics` its Prometheus
//!   metrics, `health` the HTTP server of `/metrics`, `/healthz` and `/readyz`, and
//!   `reload` the reload loop (file poll, SIGHUP, bounded reads, validation without
//!   the lints, atomic swap, revocation; never fail open).
//!
//! ```
//! use std::time::Instant;
//! use rand::{rngs::StdRng, SeedableRng};
//! use tailgrant::relay::{client::RelayClient, keys::DiscoKeyPair, policy::StaticPolicy,
//!     server::{Action, RelayServer, ReplyKind, ServerConfig}};
//!
//! let now = Instant::now();
//! let relay_keys = DiscoKeyPair::from_secret_bytes([1; 32]);
//! // Where clients reach the relay: an allocation response carries at least one.
//! let config = ServerConfig { advertised: vec!["203.0.113.1:7777".parse()?], ..ServerConfig::default() };
//! let mut relay = RelayServer::new(config, relay_keys, StdRng::seed_from_u64(0), now);
//! let mut alice = RelayClient::new(DiscoKeyPair::from_secret_bytes([2; 32]), StdRng::seed_from_u64(1));
//! let bob = DiscoKeyPair::from_secret_bytes([3; 32]);
//! let policy = StaticPolicy::allow([alice.public_key()]);
//!
//! let request = alice.allocate_request(relay.public_key(), bob.public(), 1);
//! let mut reply = Vec::new();
//! let action = relay.handle("127.0.0.1:4000".parse()?, &request, now, &policy, &mut reply);
//! assert!(matches!(action, Action::Reply(ReplyKind::Allocated { new: true, .. })));
//! let endpoint = alice.allocate_response(relay.public_key(), &reply, 1)?;
//! assert_eq!(endpoint.server_disco, *relay.public_key());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// The protocol core (feature `relay-core`): no I/O, no async runtime.
pub(crate) mod challenge;
pub mod client;
pub mod disco;
pub mod geneve;
pub mod keys;
pub mod policy;
pub mod server;
pub mod stun;
pub mod table_policy;

// The daemon (feature `relay`): sockets, tokio, metrics, reload.
#[cfg(feature = "relay")]
pub mod advertise;
#[cfg(feature = "relay")]
pub mod daemon;
#[cfg(feature = "relay")]
pub mod exclusive;
#[cfg(feature = "relay")]
pub(crate) mod health;
#[cfg(feature = "relay")]
pub mod metrics;
#[cfg(feature = "relay")]
pub mod ping;
#[cfg(feature = "relay")]
pub(crate) mod refusals;
#[cfg(feature = "relay")]
pub mod reload;
