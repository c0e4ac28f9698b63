//! Prometheus metrics of the relay daemon, with Tailscale's names for what
//! Tailscale measures (`tailscaled_peer_relay_*`) and tailgrant's own for allocations,
//! drops, closed endpoints, reloads and decision latency (`tailgrant_relay_*`). Counting
//! never blocks and never fails; [`Metrics::encode`] renders the text format that
//! `health` serves.

use std::net::SocketAddr;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The address family of a socket, as Tailscale labels it.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types, missing_docs)]
pub(crate) enum Transport {
    udp4,
    udp6,
}

impl Transport {
    /// The family of `addr` (IPv4-mapped IPv6 counts as IPv4).
    pub(crate) fn of(addr: &SocketAddr) -> Self {
        match addr {
            SocketAddr::V4(_) => Transport::udp4,
            SocketAddr::V6(v6) if v6.ip().to_ipv4_mapped().is_some() => Transport::udp4,
            SocketAddr::V6(_) => Transport::udp6,
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabels {
    transport_in: Transport,
    transport_out: Transport,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HashLabels {
    hash: String,
}

/// Counters for one (in, out) transport pair, fetched once so the forwarding
/// path does no label lookup.
#[derive(Debug, Clone, Default)]
pub(crate) struct ForwardCounters {
    packets: Counter,
    bytes: Counter,
}

impl ForwardCounters {
    /// Counts one forwarded packet of `len` bytes.
    pub(crate) fn add(&self, len: usize) {
        self.packets.inc();
        self.bytes.inc_by(len as u64);
    }

    /// Counts `packets` forwarded packets of `bytes` bytes in all.
    pub(crate) fn add_many(&self, packets: usize, bytes: usize) {
        self.packets.inc_by(packets as u64);
        self.bytes.inc_by(bytes as u64);
    }
}

/// Every metric the daemon exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    forwarded: [[ForwardCounters; 2]; 2],
    endpoints: Family<StateLabels, Gauge>,
    allocations: Family<ResultLabels, Counter>,
    dropped: Family<ReasonLabels, Counter>,
    closed: Family<ReasonLabels, Counter>,
    reloads: Family<ReasonLabels, Counter>,
    generation: Gauge,
    policy_info: Family<HashLabels, Gauge>,
    decision_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub(crate) fn new() -> Self {
        let mut registry = Registry::default();
        let packets = Family::<TransportLabels, Counter>::default();
        let bytes = Family::<TransportLabels, Counter>::default();
        let pair = |i: Transport, o: Transport| {
            let labels = TransportLabels {
                transport_in: i,
                transport_out: o,
            };
            ForwardCounters {
                packets: packets.get_or_create_owned(&labels),
                bytes: bytes.get_or_create_owned(&labels),
            }
        };
        use Transport::{udp4, udp6};
        let forwarded = [
            [pair(udp4, udp4), pair(udp4, udp6)],
            [pair(udp6, udp4), pair(udp6, udp6)],
        ];
        registry.register(
            "tailscaled_peer_relay_forwarded_packets",
            "Packets forwarded between the legs of relay endpoints",
            packets,
        );
        registry.register(
            "tailscaled_peer_relay_forwarded_bytes",
            "Bytes forwarded between the legs of relay endpoints",
            bytes,
        );
        let endpoints = Family::<StateLabels, Gauge>::default();
        registry.register(
            "tailscaled_peer_relay_endpoints",
            "Relay endpoints by state",
            endpoints.clone(),
        );
        let allocations = Family::<ResultLabels, Counter>::default();
        registry.register(
            "tailgrant_relay_allocations",
            "Allocation requests by result and reason",
            allocations.clone(),
        );
        let dropped = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "tailgrant_relay_dropped_packets",
            "Datagrams dropped by reason",
            dropped.clone(),
        );
        let closed = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "tailgrant_relay_endpoints_closed",
            "Endpoints closed, by reason (expired, revoked)",
            closed.clone(),
        );
        let reloads = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "tailgrant_relay_policy_reloads",
            "Policy reloads by result (the label is named reason: ok, failed)",
            reloads.clone(),
        );
        let generation = Gauge::default();
        registry.register(
            "tailgrant_relay_policy_generation",
            "Generation of the loaded policy",
            generation.clone(),
        );
        let policy_info = Family::<HashLabels, Gauge>::default();
        registry.register(
            "tailgrant_relay_policy_info",
            "The loaded policy's hash, value 1",
            policy_info.clone(),
        );
        let decision_seconds = Histogram::new(exponential_buckets(1e-6, 2.0, 16));
        registry.register(
            "tailgrant_relay_decision_seconds",
            "Time the policy takes to decide an allocation",
            decision_seconds.clone(),
        );
        Self {
            registry,
            forwarded,
            endpoints,
            allocations,
            dropped,
            closed,
            reloads,
            generation,
            policy_info,
            decision_seconds,
        }
    }

    /// The counters for packets coming in on `i` and going out on `o`.
    pub(crate) fn forwarded(&self, i: Transport, o: Transport) -> &ForwardCounters {
        &self.forwarded[i as usize][o as usize]
    }

    /// Sets the endpoint gauges.
    pub(crate) fn set_endpoints(&self, connecting: usize, open: usize) {
        let set = |state, n: usize| {
            self.endpoints
                .get_or_create(&StateLabels { state })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        };
        set("connecting", connecting);
        set("open", open);
    }

    /// Counts an allocation request: `result` is `allowed`, `existing`,
    /// `denied` or `refused` (a limit), with a reason label.
    pub(crate) fn allocation(&self, result: &'static str, reason: &'static str) {
        self.allocations
            .get_or_create(&ResultLabels { result, reason })
            .inc();
    }

    /// Counts a dropped datagram.
    pub(crate) fn dropped(&self, reason: &'static str) {
        self.dropped.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// Counts closed endpoints.
    pub(crate) fn closed(&self, reason: &'static str, n: usize) {
        self.closed
            .get_or_create(&ReasonLabels { reason })
            .inc_by(n as u64);
    }

    /// Counts a reload attempt. Call with `false` when a new policy file
    /// fails to compile (the last good one stays); successful swaps are
    /// counted by the daemon when it sees the new generation.
    pub fn reload(&self, ok: bool) {
        let reason = if ok { "ok" } else { "failed" };
        self.reloads.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// Records the loaded policy's generation and hash.
    pub(crate) fn set_policy(&self, generation: u64, hash: &str) {
        self.generation
            .set(i64::try_from(generation).unwrap_or(i64::MAX));
        self.policy_info.clear();
        self.policy_info
            .get_or_create(&HashLabels {
                hash: hash.to_owned(),
            })
            .set(1);
    }

    /// Records how long a policy decision took.
    pub(crate) fn decision(&self, took: Duration) {
        self.decision_seconds.observe(took.as_secs_f64());
    }

    /// The metrics in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String does not fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels_are_tailscales() {
        let m = Metrics::new();
        m.forwarded(Transport::udp4, Transport::udp6).add(100);
        m.set_endpoints(2, 3);
        m.allocation("denied", "no_relay_grant");
        m.set_policy(4, "abc");
        let text = m.encode();
        assert!(text.contains(
            "tailscaled_peer_relay_forwarded_packets_total{transport_in=\"udp4\",transport_out=\"udp6\"} 1"
        ), "{text}");
        assert!(text.contains(
            "tailscaled_peer_relay_forwarded_bytes_total{transport_in=\"udp4\",transport_out=\"udp6\"} 100"
        ));
        assert!(text.contains("tailscaled_peer_relay_endpoints{state=\"connecting\"} 2"));
        assert!(text.contains("tailscaled_peer_relay_endpoints{state=\"open\"} 3"));
        assert!(text.contains(
            "tailgrant_relay_allocations_total{result=\"denied\",reason=\"no_relay_grant\"} 1"
        ));
        assert!(text.contains("tailgrant_relay_policy_info{hash=\"abc\"} 1"));
    }

    #[test]
    fn mapped_v4_is_udp4() {
        assert_eq!(
            Transport::of(&"[::ffff:1.2.3.4]:5".parse().unwrap()),
            Transport::udp4
        );
        assert_eq!(Transport::of(&"[::1]:5".parse().unwrap()), Transport::udp6);
    }
}
