//! Bounded logging of refused allocations. A flood of refused requests must not become a
//! flood of log lines: the first refusal from each client address for each reason is logged,
//! the rest are counted, and a summary with the counts is logged once per period. The
//! metrics count every refusal exactly; this only decides what is written to the log.
//!
//! The client is known here by its address (the socket loops see no more of it); a flood
//! from many addresses is bounded too: at most [`MAX_LOGGED`] first refusals per period.
//! No time is read here, so the behaviour is testable deterministically.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The most refusals logged one by one in one period; beyond it they are only summarized.
pub(crate) const MAX_LOGGED: usize = 1024;

/// Refusals counted since the last summary.
#[derive(Debug)]
pub(crate) struct RefusalLog {
    every: Duration,
    since: Instant,
    /// The (client, reason) pairs logged in this period.
    logged: HashSet<(IpAddr, &'static str)>,
    /// Refusals in this period by (result, reason).
    counts: BTreeMap<(&'static str, &'static str), u64>,
    /// Refusals in this period that were not logged one by one.
    unlogged: u64,
}

/// What a period's summary reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    /// Refusals by (result, reason).
    pub(crate) counts: BTreeMap<(&'static str, &'static str), u64>,
    /// How many of them were not logged one by one.
    pub(crate) unlogged: u64,
    /// How long the period lasted.
    pub(crate) period: Duration,
}

impl Summary {
    /// `result/reason=count` pairs, e.g. `denied/no_relay_grant=12 refused/rate_limited=3000`.
    pub(crate) fn counts_text(&self) -> String {
        let pairs: Vec<String> = self
            .counts
            .iter()
            .map(|((result, reason), n)| format!("{result}/{reason}={n}"))
            .collect();
        pairs.join(" ")
    }
}

impl RefusalLog {
    /// A log whose summaries come at most once per `every`, starting at `now`.
    pub(crate) fn new(every: Duration, now: Instant) -> Self {
        Self {
            every,
            since: now,
            logged: HashSet::new(),
            counts: BTreeMap::new(),
            unlogged: 0,
        }
    }

    /// Counts a refusal of `client` (`result` is `denied` or `refused`, `reason` the metric
    /// label); true when it is to be logged: the first of this client for this reason in
    /// the period, while fewer than [`MAX_LOGGED`] were.
    pub(crate) fn record(
        &mut self,
        client: IpAddr,
        result: &'static str,
        reason: &'static str,
    ) -> bool {
        *self.counts.entry((result, reason)).or_insert(0) += 1;
        let first = self.logged.len() < MAX_LOGGED && self.logged.insert((client, reason));
        if !first {
            self.unlogged += 1;
        }
        first
    }

    /// At the end of a period (`every` after its start): the counts of a period in which
    /// some refusal was not logged one by one, and a new period begins. `None` before the
    /// end, or when every refusal of the period was logged (the summary would add nothing).
    pub(crate) fn summary(&mut self, now: Instant) -> Option<Summary> {
        let period = now.saturating_duration_since(self.since);
        if period < self.every {
            return None;
        }
        self.since = now;
        self.logged.clear();
        let counts = std::mem::take(&mut self.counts);
        let unlogged = std::mem::take(&mut self.unlogged);
        (unlogged > 0).then_some(Summary {
            counts,
            unlogged,
            period,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    #[test]
    fn a_flood_from_one_client_logs_one_line_per_reason_and_one_summary() {
        let t0 = Instant::now();
        let mut log = RefusalLog::new(MINUTE, t0);
        let mut lines = 0;
        for i in 0..300_000 {
            let reason = if i % 3 == 0 {
                "no_relay_grant"
            } else {
                "rate_limited"
            };
            let result = if i % 3 == 0 { "denied" } else { "refused" };
            lines += usize::from(log.record(ip(1), result, reason));
        }
        assert_eq!(lines, 2, "one line per reason");
        assert_eq!(log.summary(t0 + Duration::from_secs(59)), None, "not yet");
        let summary = log.summary(t0 + MINUTE).unwrap();
        assert_eq!(summary.unlogged, 300_000 - 2);
        assert_eq!(
            summary.counts_text(),
            "denied/no_relay_grant=100000 refused/rate_limited=200000"
        );
        // A new period: the client's next refusal is logged again, once.
        assert!(log.record(ip(1), "denied", "no_relay_grant"));
        assert!(!log.record(ip(1), "denied", "no_relay_grant"));
    }

    #[test]
    fn many_clients_log_at_most_the_cap_per_period() {
        let t0 = Instant::now();
        let mut log = RefusalLog::new(MINUTE, t0);
        let lines: usize = (0..100_000)
            .map(|n| usize::from(log.record(ip(n), "denied", "unknown_disco_key")))
            .sum();
        assert_eq!(lines, MAX_LOGGED);
        let summary = log.summary(t0 + MINUTE).unwrap();
        assert_eq!(summary.unlogged, 100_000 - MAX_LOGGED as u64);
        assert_eq!(summary.counts_text(), "denied/unknown_disco_key=100000");
    }

    #[test]
    fn a_period_whose_refusals_were_all_logged_has_no_summary() {
        let t0 = Instant::now();
        let mut log = RefusalLog::new(MINUTE, t0);
        assert!(log.record(ip(1), "denied", "no_relay_grant"));
        assert!(log.record(ip(2), "denied", "no_relay_grant"));
        assert_eq!(log.summary(t0 + MINUTE), None);
        // ... and the next period starts empty.
        assert_eq!(log.summary(t0 + 2 * MINUTE), None);
    }
}
