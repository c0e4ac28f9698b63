//! The relay's protocol state machine, without I/O (boringtun style): a
//! datagram and its source go in, an [`Action`] comes out. Time is an argument,
//! never read here, so every state change is testable deterministically.
//!
//! Here: the configuration, the endpoint table (allocation, binding, forwarding,
//! expiry, revocation) and the per-sender rate limit. What the core answers, and why it
//! drops a datagram, is in `action`.
//!
//! Invariants: data is forwarded only between the two bound legs of one endpoint; a leg
//! binds only with an answer to a challenge that is MAC-keyed to its address and
//! generation; an allocation is asked of the policy on every request, and an endpoint
//! whose requesters the policy no longer allows is closed by [`RelayServer::revoke`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::RngCore;

use super::challenge::{ChallengeInput, ChallengeKeys, DEFAULT_ROTATION};
use super::disco::{
    seal, AllocateRequest, AllocateResponse, BindBody, DiscoKey, Envelope, Message, RelayEndpoint,
    DISCO_MAGIC, NONCE_LEN,
};
use super::geneve::{GeneveHeader, GENEVE_HEADER_LEN, MAX_VNI, PROTOCOL_DISCO};
use super::keys::{DiscoKeyPair, SharedKeyCache};
use super::policy::{AllocationPolicy, Denial};
use super::stun;

mod action;

pub use action::{Action, ClosedEndpoint, DropReason, ReplyKind};

/// Limits and lifetimes of the core.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// How long a new endpoint waits for both legs to bind (Tailscale: 30 s).
    pub bind_lifetime: Duration,
    /// How long a bound endpoint lives without traffic (Tailscale: 5 min).
    pub steady_state_lifetime: Duration,
    /// How often the challenge key rotates (Tailscale: 2 min).
    pub challenge_rotation: Duration,
    /// Endpoints in total.
    pub max_endpoints: usize,
    /// Endpoints allocated by one requester.
    pub max_endpoints_per_node: usize,
    /// Allocation requests per second per sender (token bucket refill).
    pub allocation_rate: f64,
    /// Allocation requests a sender may burst.
    pub allocation_burst: f64,
    /// Peers whose shared box is cached.
    pub key_cache_capacity: usize,
    /// Recent nonces remembered to drop replays.
    pub replay_window: usize,
    /// The addresses advertised in responses: static endpoints first, then
    /// the bound addresses.
    pub advertised: Vec<SocketAddr>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind_lifetime: Duration::from_secs(30),
            steady_state_lifetime: Duration::from_secs(300),
            challenge_rotation: DEFAULT_ROTATION,
            max_endpoints: 100_000,
            max_endpoints_per_node: 1_000,
            allocation_rate: 10.0,
            allocation_burst: 20.0,
            key_cache_capacity: 65_536,
            replay_window: 65_536,
            advertised: Vec::new(),
        }
    }
}

/// One allocated endpoint.
#[derive(Debug, Clone)]
struct Endpoint {
    lamport_id: u64,
    /// Sorted.
    pair: [DiscoKey; 2],
    /// The requester counted against its per-node limit.
    owner: DiscoKey,
    /// Everyone who asked for it (at most the two of the pair).
    requesters: Vec<DiscoKey>,
    created: Instant,
    /// Per leg (indexed like `pair`): when it bound or last sent data.
    last_seen: [Instant; 2],
    /// Per leg: the generation of the Bind awaiting its Answer, 0 for none.
    in_progress: [u32; 2],
    legs: [Option<SocketAddr>; 2],
}

impl Endpoint {
    fn open(&self) -> bool {
        self.legs[0].is_some() && self.legs[1].is_some()
    }

    /// Tailscale's `isExpiredLocked` (`net/udprelay/server.go`): an endpoint
    /// not yet bound on both legs lives `bind_lifetime` from its allocation;
    /// a bound one dies when either leg has been silent for longer than
    /// `steady_state_lifetime`, so a one-way flow expires too.
    fn expired(&self, now: Instant, cfg: &ServerConfig) -> bool {
        if self.open() {
            self.last_seen
                .iter()
                .any(|&seen| now.saturating_duration_since(seen) > cfg.steady_state_lifetime)
        } else {
            now.saturating_duration_since(self.created) > cfg.bind_lifetime
        }
    }
}

/// Per-sender allocation token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The relay core.
pub struct RelayServer {
    cfg: ServerConfig,
    keys: SharedKeyCache,
    rng: StdRng,
    challenge: ChallengeKeys,
    endpoints: HashMap<u32, Endpoint>,
    by_pair: HashMap<[DiscoKey; 2], u32>,
    per_owner: HashMap<DiscoKey, usize>,
    /// How many endpoints each key is one of the pair of.
    members: HashMap<DiscoKey, usize>,
    buckets: HashMap<DiscoKey, Bucket>,
    seen_nonces: HashSet<[u8; NONCE_LEN]>,
    nonce_order: VecDeque<[u8; NONCE_LEN]>,
    next_vni: u32,
    lamport: u64,
    scratch: Vec<u8>,
}

impl RelayServer {
    /// A relay with disco key pair `keys`, created at `now`.
    pub fn new(cfg: ServerConfig, keys: DiscoKeyPair, mut rng: StdRng, now: Instant) -> Self {
        let challenge = ChallengeKeys::new(&mut rng, cfg.challenge_rotation, now);
        Self {
            keys: SharedKeyCache::new(keys, cfg.key_cache_capacity),
            rng,
            challenge,
            endpoints: HashMap::new(),
            by_pair: HashMap::new(),
            per_owner: HashMap::new(),
            members: HashMap::new(),
            buckets: HashMap::new(),
            seen_nonces: HashSet::new(),
            nonce_order: VecDeque::new(),
            next_vni: 1,
            lamport: 0,
            scratch: Vec::with_capacity(2048),
            cfg,
        }
    }

    /// The relay's public disco key.
    pub fn public_key(&self) -> &DiscoKey {
        self.keys.keys().public()
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &ServerConfig {
        &self.cfg
    }

    /// Replaces the advertised addresses (after sockets are bound).
    pub(crate) fn set_advertised(&mut self, addrs: Vec<SocketAddr>) {
        self.cfg.advertised = addrs;
    }

    /// Endpoints waiting for their legs, and endpoints with both legs bound.
    pub(crate) fn endpoint_counts(&self) -> (usize, usize) {
        let open = self.endpoints.values().filter(|e| e.open()).count();
        (self.endpoints.len() - open, open)
    }

    /// Handles one datagram from `src`. A reply, if any, is written to `out`
    /// (cleared first); `policy` is asked on every allocation request.
    pub fn handle(
        &mut self,
        src: SocketAddr,
        packet: &[u8],
        now: Instant,
        policy: &dyn AllocationPolicy,
        out: &mut Vec<u8>,
    ) -> Action {
        out.clear();
        if stun::is_binding(packet) {
            return Action::Drop(DropReason::Stun);
        }
        if packet.starts_with(&DISCO_MAGIC) {
            return self.handle_disco(packet, now, policy, out);
        }
        let header = match GeneveHeader::decode(packet) {
            Ok(h) => h,
            Err(e) => return Action::Drop(DropReason::Geneve(e)),
        };
        if header.control {
            if header.protocol != PROTOCOL_DISCO {
                return Action::Drop(DropReason::UnexpectedMessage);
            }
            return self.handle_control(
                src,
                header,
                &packet[GENEVE_HEADER_LEN..],
                now,
                policy,
                out,
            );
        }
        self.forward(src, header.vni, now)
    }

    /// The fast path: where a data packet on `vni` from `src` goes.
    fn forward(&mut self, src: SocketAddr, vni: u32, now: Instant) -> Action {
        let Some(ep) = self.endpoints.get_mut(&vni) else {
            return Action::Drop(DropReason::UnknownVni);
        };
        let [Some(a), Some(b)] = ep.legs else {
            return Action::Drop(DropReason::NotBound);
        };
        let (leg, to) = if src == a {
            (0, b)
        } else if src == b {
            (1, a)
        } else {
            return Action::Drop(DropReason::UnboundSource);
        };
        if ep.expired(now, &self.cfg) {
            self.remove(vni);
            return Action::Drop(DropReason::UnknownVni);
        }
        ep.last_seen[leg] = now;
        Action::Forward(to)
    }

    /// Opens a sealed disco message and drops replays. A sender the policy
    /// does not know (nor, with `members_known`, one of an endpoint's pair) is
    /// dropped before its shared key is looked up or computed, so random
    /// sender keys cost neither a key exchange nor a place in the key cache.
    fn open(
        &mut self,
        sealed: &[u8],
        policy: &dyn AllocationPolicy,
        members_known: bool,
    ) -> Result<(DiscoKey, Message), DropReason> {
        let env = Envelope::parse(sealed).map_err(DropReason::Disco)?;
        let known =
            policy.knows(&env.sender) || (members_known && self.members.contains_key(&env.sender));
        if !known {
            return Err(DropReason::UnknownSender);
        }
        let shared = self.keys.get(&env.sender);
        let msg = env
            .open(shared, &mut self.scratch)
            .map_err(DropReason::Disco)?;
        if !self.seen_nonces.insert(env.nonce) {
            return Err(DropReason::Replay);
        }
        self.nonce_order.push_back(env.nonce);
        while self.nonce_order.len() > self.cfg.replay_window {
            if let Some(old) = self.nonce_order.pop_front() {
                self.seen_nonces.remove(&old);
            }
        }
        Ok((env.sender, msg))
    }

    fn seal_to(&mut self, peer: &DiscoKey, msg: &Message, out: &mut Vec<u8>) {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill_bytes(&mut nonce);
        let me = *self.keys.keys().public();
        seal(self.keys.get(peer), &me, &nonce, msg, out);
    }

    /// A plain disco message: only allocation requests come this way (in
    /// Tailscale they travel over DERP; the reply goes back to the source).
    fn handle_disco(
        &mut self,
        packet: &[u8],
        now: Instant,
        policy: &dyn AllocationPolicy,
        out: &mut Vec<u8>,
    ) -> Action {
        let (sender, msg) = match self.open(packet, policy, false) {
            Ok(m) => m,
            Err(r) => return Action::Drop(r),
        };
        let Message::AllocateRequest(req) = msg else {
            return Action::Drop(DropReason::UnexpectedMessage);
        };
        match self.allocate(&sender, &req, now, policy) {
            Ok((vni, new)) => {
                let endpoint = self.describe(vni);
                if let Some(endpoint) = endpoint {
                    let resp = Message::AllocateResponse(AllocateResponse {
                        generation: req.generation,
                        endpoint,
                    });
                    self.seal_to(&sender, &resp, out);
                }
                Action::Reply(ReplyKind::Allocated { vni, new })
            }
            Err(r) => Action::Drop(r),
        }
    }

    /// Decides and performs an allocation; returns the VNI and whether it is new.
    fn allocate(
        &mut self,
        requester: &DiscoKey,
        req: &AllocateRequest,
        now: Instant,
        policy: &dyn AllocationPolicy,
    ) -> Result<(u32, bool), DropReason> {
        let [a, b] = req.client_disco;
        if a == b || (requester != &a && requester != &b) {
            return Err(DropReason::NotInPair);
        }
        let me = self.keys.keys().public();
        if &a == me || &b == me {
            return Err(DropReason::ServerKeyInPair);
        }
        // Tailscale answers nothing until it has an address to advertise:
        // a response without one is unusable (its decoder rejects it).
        if self.cfg.advertised.is_empty() {
            return Err(DropReason::NotReady);
        }
        self.take_token(requester, now)?;
        policy.authorize(requester).map_err(DropReason::Denied)?;
        let pair = if a <= b { [a, b] } else { [b, a] };
        if let Some(&vni) = self.by_pair.get(&pair) {
            match self.endpoints.get_mut(&vni) {
                Some(ep) if !ep.expired(now, &self.cfg) => {
                    if !ep.requesters.contains(requester) {
                        ep.requesters.push(*requester);
                    }
                    return Ok((vni, false));
                }
                _ => self.remove(vni),
            }
        }
        if self.endpoints.len() >= self.cfg.max_endpoints {
            self.expire(now);
            if self.endpoints.len() >= self.cfg.max_endpoints {
                return Err(DropReason::TooManyEndpoints);
            }
        }
        if self.per_owner.get(requester).copied().unwrap_or(0) >= self.cfg.max_endpoints_per_node {
            return Err(DropReason::TooManyForNode);
        }
        let vni = self.free_vni().ok_or(DropReason::TooManyEndpoints)?;
        self.lamport += 1;
        self.endpoints.insert(
            vni,
            Endpoint {
                lamport_id: self.lamport,
                pair,
                owner: *requester,
                requesters: vec![*requester],
                created: now,
                last_seen: [now; 2],
                in_progress: [0; 2],
                legs: [None, None],
            },
        );
        self.by_pair.insert(pair, vni);
        *self.per_owner.entry(*requester).or_insert(0) += 1;
        for key in pair {
            *self.members.entry(key).or_insert(0) += 1;
        }
        Ok((vni, true))
    }

    fn take_token(&mut self, sender: &DiscoKey, now: Instant) -> Result<(), DropReason> {
        let (rate, burst) = (self.cfg.allocation_rate, self.cfg.allocation_burst);
        if self.buckets.len() >= self.cfg.key_cache_capacity && !self.buckets.contains_key(sender) {
            self.buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
        }
        let bucket = self.buckets.entry(*sender).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            return Err(DropReason::RateLimited);
        }
        bucket.tokens -= 1.0;
        Ok(())
    }

    fn free_vni(&mut self) -> Option<u32> {
        for _ in 0..=self.endpoints.len() {
            let vni = self.next_vni;
            self.next_vni = if vni >= MAX_VNI { 1 } else { vni + 1 };
            if !self.endpoints.contains_key(&vni) {
                return Some(vni);
            }
        }
        None
    }

    /// The endpoint as clients see it.
    fn describe(&self, vni: u32) -> Option<RelayEndpoint> {
        let ep = self.endpoints.get(&vni)?;
        Some(RelayEndpoint {
            server_disco: *self.keys.keys().public(),
            client_disco: ep.pair,
            lamport_id: ep.lamport_id,
            vni,
            bind_lifetime: self.cfg.bind_lifetime,
            steady_state_lifetime: self.cfg.steady_state_lifetime,
            addr_ports: self.cfg.advertised.clone(),
        })
    }

    fn handle_control(
        &mut self,
        src: SocketAddr,
        header: GeneveHeader,
        sealed: &[u8],
        now: Instant,
        policy: &dyn AllocationPolicy,
        out: &mut Vec<u8>,
    ) -> Action {
        let (sender, msg) = match self.open(sealed, policy, true) {
            Ok(m) => m,
            Err(r) => return Action::Drop(r),
        };
        let (body, is_bind) = match msg {
            Message::Bind(b) => (b, true),
            Message::Answer(b) => (b, false),
            _ => return Action::Drop(DropReason::UnexpectedMessage),
        };
        if body.vni != header.vni {
            return Action::Drop(DropReason::WrongVni);
        }
        let Some(ep) = self.endpoints.get(&body.vni) else {
            return Action::Drop(DropReason::UnknownVni);
        };
        if ep.expired(now, &self.cfg) {
            self.remove(body.vni);
            return Action::Drop(DropReason::UnknownVni);
        }
        let leg = match ep.pair {
            [a, b] if sender == a && body.remote_key == b => 0,
            [a, b] if sender == b && body.remote_key == a => 1,
            _ => return Action::Drop(DropReason::NotInPair),
        };
        self.challenge.rotate_if_due(&mut self.rng, now);
        let input = ChallengeInput {
            vni: body.vni,
            generation: body.generation,
            remote_key: &body.remote_key,
            source: src,
        };
        // Each leg's handshake in progress, as `handleDiscoControlMsg` in
        // Tailscale's `net/udprelay/server.go` keeps it: a Bind (generation
        // non-zero) starts one, the Answer must carry the same generation.
        if is_bind {
            if body.generation == 0 {
                return Action::Drop(DropReason::BadGeneration);
            }
            if let Some(ep) = self.endpoints.get_mut(&body.vni) {
                ep.in_progress[leg] = body.generation;
            }
            let challenge = self.challenge.challenge(&input);
            out.extend_from_slice(&header.to_bytes());
            let msg = Message::Challenge(BindBody { challenge, ..body });
            self.seal_to(&sender, &msg, out);
            return Action::Reply(ReplyKind::Challenge);
        }
        let in_progress = ep.in_progress[leg];
        if in_progress == 0 || in_progress != body.generation {
            return Action::Drop(DropReason::BadGeneration);
        }
        if !self.challenge.verify(&input, &body.challenge) {
            return Action::Drop(DropReason::BadChallenge);
        }
        let Some(ep) = self.endpoints.get_mut(&body.vni) else {
            return Action::Drop(DropReason::UnknownVni);
        };
        ep.legs[leg] = Some(src);
        ep.last_seen[leg] = now;
        ep.in_progress[leg] = 0;
        Action::Bound {
            vni: body.vni,
            open: ep.open(),
        }
    }

    fn remove(&mut self, vni: u32) {
        if let Some(ep) = self.endpoints.remove(&vni) {
            self.by_pair.remove(&ep.pair);
            if let Some(n) = self.per_owner.get_mut(&ep.owner) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.per_owner.remove(&ep.owner);
                }
            }
            for key in &ep.pair {
                if let Some(n) = self.members.get_mut(key) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.members.remove(key);
                    }
                }
            }
        }
    }

    /// Removes expired endpoints; returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        let dead: Vec<u32> = self
            .endpoints
            .iter()
            .filter(|(_, e)| e.expired(now, &self.cfg))
            .map(|(v, _)| *v)
            .collect();
        for vni in &dead {
            self.remove(*vni);
        }
        dead.len()
    }

    /// Asks `policy` again for every endpoint's requesters and closes those no
    /// requester may allocate any more (after a policy reload).
    pub fn revoke(&mut self, policy: &dyn AllocationPolicy) -> Vec<ClosedEndpoint> {
        let mut closed = Vec::new();
        for (vni, ep) in &mut self.endpoints {
            let mut last = None;
            ep.requesters.retain(|r| match policy.authorize(r) {
                Ok(()) => true,
                Err(d) => {
                    last = Some(d);
                    false
                }
            });
            if ep.requesters.is_empty() {
                closed.push(ClosedEndpoint {
                    vni: *vni,
                    denial: last.unwrap_or(Denial::NoPolicy),
                });
            }
        }
        for c in &closed {
            self.remove(c.vni);
        }
        closed
    }
}

#[cfg(test)]
mod tests;
