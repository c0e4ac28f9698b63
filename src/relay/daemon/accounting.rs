//! Accounting: what each action of the core is counted as (Prometheus) and how it is
//! logged. Refused allocations are counted every time but logged once per client and reason
//! per summary period ([`RefusalLog`]), so a flood writes a bounded number of log lines;
//! client addresses and keys are `[redacted]` unless `log_addresses` is set.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use super::Shared;
use crate::relay::disco::DiscoKey;
use crate::relay::keys::short_key;
use crate::relay::metrics::Metrics;
use crate::relay::policy::{AllocationPolicy, Denial};
use crate::relay::server::{Action, DropReason, ReplyKind};

/// A value shown in logs only when `log_addresses` is set.
pub(super) struct Redact<T>(pub(super) T, pub(super) bool);

impl<T: fmt::Display> fmt::Display for Redact<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 {
            self.0.fmt(f)
        } else {
            f.write_str("[redacted]")
        }
    }
}

/// The policy, timed for the decision-latency histogram.
pub(super) struct TimedPolicy<'a> {
    pub(super) inner: &'a dyn AllocationPolicy,
    pub(super) metrics: &'a Metrics,
}

impl AllocationPolicy for TimedPolicy<'_> {
    fn authorize(&self, requester: &DiscoKey) -> Result<(), Denial> {
        let start = Instant::now();
        let decision = self.inner.authorize(requester);
        self.metrics.decision(start.elapsed());
        decision
    }

    fn knows(&self, key: &DiscoKey) -> bool {
        self.inner.knows(key)
    }
}

pub(super) fn count_send_error(metrics: &Metrics, e: &io::Error, datagrams: usize) {
    let reason = if e.kind() == io::ErrorKind::WouldBlock {
        "send_queue_full"
    } else {
        "send_error"
    };
    for _ in 0..datagrams {
        metrics.dropped(reason);
    }
}

pub(super) fn count_reply(shared: &Shared, kind: ReplyKind, src: SocketAddr) {
    if let ReplyKind::Allocated { vni, new } = kind {
        shared
            .metrics
            .allocation(if new { "allowed" } else { "existing" }, "");
        tracing::info!(vni, new, client = %Redact(src, shared.log_addresses), "allocated");
    }
}

/// Counts and logs an action that sends nothing.
pub(super) fn account(shared: &Shared, action: Action, src: SocketAddr) {
    match action {
        Action::Bound { vni, open } => {
            tracing::debug!(vni, open, client = %Redact(src, shared.log_addresses), "leg bound");
        }
        Action::Drop(reason) => count_drop(shared, &reason, src),
        Action::Forward(_) | Action::Reply(_) => {}
    }
}

pub(super) fn count_drop(shared: &Shared, reason: &DropReason, src: SocketAddr) {
    let metrics = &shared.metrics;
    metrics.dropped(reason.label());
    let refusal = match reason {
        DropReason::Denied(denial) => ("denied", denial.label()),
        DropReason::RateLimited | DropReason::TooManyEndpoints | DropReason::TooManyForNode => {
            ("refused", reason.label())
        }
        _ => return,
    };
    let (result, label) = refusal;
    metrics.allocation(result, label);
    // Counted every time; logged the first time per client and reason in a summary period.
    let first = shared
        .refusals
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .record(src.ip(), result, label);
    if !first {
        return;
    }
    let client = Redact(src, shared.log_addresses);
    if let DropReason::Denied(denial) = reason {
        tracing::info!(%client, reason = %denial, "allocation denied (further refusals of this client for this reason are summarized)");
    } else {
        tracing::info!(%client, reason = label, "allocation refused (further refusals of this client for this reason are summarized)");
    }
}

/// Logs the summary of refused allocations when its period is over.
pub(super) fn summarize_refusals(shared: &Shared, now: Instant) {
    let summary = shared
        .refusals
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .summary(now);
    if let Some(s) = summary {
        tracing::info!(
            refusals = %s.counts_text(),
            not_logged = s.unlogged,
            period = ?s.period,
            "allocation refusals in the last period"
        );
    }
}

/// A disco key for logs, redacted unless asked.
pub fn log_key(key: &DiscoKey, show: bool) -> String {
    Redact(short_key(key), show).to_string()
}
