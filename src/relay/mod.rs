//! The peer relay: Tailscale's UDP relay data plane (`net/udprelay`) with an
//! allocation policy asked on every request.
//!
//! The protocol core does no I/O: [`server::RelayServer::handle`] takes a
//! datagram, its source and the current time, and returns an
//! [`server::Action`]. [`client::RelayClient`] is the other side. The daemon
//! ([`daemon::run`]) is a thin socket loop around the core.
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

pub mod advertise;
pub mod challenge;
pub mod client;
pub mod daemon;
pub mod disco;
pub mod exclusive;
pub mod geneve;
pub mod keys;
pub mod metrics;
pub mod ping;
pub mod policy;
pub mod refusals;
pub mod server;
pub mod stun;
pub mod table_policy;
