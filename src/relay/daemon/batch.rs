//! Batched I/O: up to [`BATCH_SIZE`] datagrams per receive call (`recvmmsg`, and GRO
//! trains where the kernel coalesces them), handed to the core one by one under a single
//! lock, and consecutive forwards to one destination sent as one GSO send ([`Outbox`]).
//!
//! Invariants: the core sees the same datagrams, in the same order, as without batching
//! (a GRO train is split at its stride); a run joins a GSO send only when one send can
//! carry it (same destination, full segments, under the kernel's segment limit and
//! [`MAX_GSO_BYTES`]); the loop yields after each batch so that a flood cannot starve the
//! other tasks.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use quinn_udp::{RecvMeta, UdpSockRef, BATCH_SIZE};
use tokio::io::Interest;

use super::accounting::{account, count_reply, count_send_error, TimedPolicy};
use super::socket::{socket_loop, RelaySocket, SocketId};
use super::Shared;
use crate::relay::metrics::Transport;
use crate::relay::server::{Action, ReplyKind};

/// Bytes per receive slot: the largest UDP datagram, or the largest GRO train
/// (at most 64 segments in one 64 KiB buffer).
const SLOT: usize = 65_536;
/// The most bytes one GSO send carries (an IP packet is at most 65,535 bytes
/// with its headers).
const MAX_GSO_BYTES: usize = 65_000;

/// Consecutive forwards to one destination, back to back in
/// [`Outbox::data`]: one GSO send of `count` datagrams of `segment` bytes
/// (the last may be shorter).
struct Run {
    to: SocketAddr,
    via: SocketId,
    start: usize,
    end: usize,
    segment: usize,
    count: usize,
}

/// What one received batch turns into: filled under the core's lock, sent
/// and counted after it.
#[derive(Default)]
struct Outbox {
    data: Vec<u8>,
    runs: Vec<Run>,
    replies: Vec<u8>,
    /// Reply destination and end offset in `replies`.
    reply_ends: Vec<(SocketAddr, usize)>,
    /// Actions that send nothing, with their source.
    quiet: Vec<(SocketAddr, Action)>,
    /// Allocation replies to count, with their source.
    replied: Vec<(SocketAddr, ReplyKind)>,
    no_socket: usize,
}

impl Outbox {
    fn clear(&mut self) {
        self.data.clear();
        self.runs.clear();
        self.replies.clear();
        self.reply_ends.clear();
        self.quiet.clear();
        self.replied.clear();
        self.no_socket = 0;
    }

    /// Queues `datagram` for `to`, joining the previous run when one GSO send
    /// can carry both.
    fn forward(&mut self, to: SocketAddr, via: SocketId, max_segments: usize, datagram: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(datagram);
        let len = datagram.len();
        if let Some(run) = self.runs.last_mut() {
            let all_full = run.end - run.start == run.segment * run.count;
            if run.to == to
                && run.end == start
                && all_full
                && len > 0
                && len <= run.segment
                && run.count < max_segments
                && run.end - run.start + len <= MAX_GSO_BYTES
            {
                run.end += len;
                run.count += 1;
                return;
            }
        }
        self.runs.push(Run {
            to,
            via,
            start,
            end: start + len,
            segment: len,
            count: 1,
        });
    }
}

/// Batched I/O: up to [`BATCH_SIZE`] datagrams per receive call, one core
/// lock per batch, and one GSO send per run of forwards to one destination.
pub(super) async fn batched_loop(shared: Arc<Shared>, socket: Arc<RelaySocket>, id: SocketId) {
    let Some(state) = socket.batch.as_ref() else {
        return socket_loop(shared, socket, id).await;
    };
    let own_transport = id.0;
    let metrics = &shared.metrics;
    let mut bufs: Vec<Vec<u8>> = (0..BATCH_SIZE).map(|_| vec![0u8; SLOT]).collect();
    let mut meta = vec![RecvMeta::default(); BATCH_SIZE];
    let mut reply = Vec::with_capacity(2048);
    let mut outbox = Outbox::default();
    loop {
        if let Err(e) = socket.io.readable().await {
            tracing::debug!(error = %e, "receive failed");
            continue;
        }
        let received = {
            let mut slices: Vec<IoSliceMut<'_>> =
                bufs.iter_mut().map(|b| IoSliceMut::new(b)).collect();
            socket.io.try_io(Interest::READABLE, || {
                state.recv(UdpSockRef::from(&socket.io), &mut slices, &mut meta)
            })
        };
        let n = match received {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                tracing::debug!(error = %e, "receive failed");
                continue;
            }
        };
        outbox.clear();
        let applied = {
            let mut core = shared.core();
            let (loaded, applied) = shared.policy_for_decisions(&mut core);
            let policy = TimedPolicy {
                inner: &*loaded.policy,
                metrics,
            };
            let now = Instant::now();
            for (m, buf) in meta.iter().zip(&bufs).take(n) {
                let filled = buf.get(..m.len).unwrap_or(buf);
                let stride = if m.stride == 0 { m.len } else { m.stride }.max(1);
                // One datagram, or a GRO train split at its stride (an empty
                // datagram still goes to the core, to be counted).
                let mut rest = filled;
                loop {
                    let (datagram, tail) = rest.split_at(stride.min(rest.len()));
                    rest = tail;
                    match core.handle(m.addr, datagram, now, &policy, &mut reply) {
                        Action::Forward(to) => match shared.socket_for(&to, id) {
                            Some(via) => {
                                let max = shared.socket(via).map_or(1, RelaySocket::max_segments);
                                outbox.forward(to, via, max, datagram);
                            }
                            None => outbox.no_socket += 1,
                        },
                        Action::Reply(kind) => {
                            outbox.replies.extend_from_slice(&reply);
                            outbox.reply_ends.push((m.addr, outbox.replies.len()));
                            outbox.replied.push((m.addr, kind));
                        }
                        other => outbox.quiet.push((m.addr, other)),
                    }
                    if rest.is_empty() {
                        break;
                    }
                }
            }
            applied
        };
        if let Some((policy, closed)) = applied {
            shared.report_applied(&policy, &closed);
        }
        send_outbox(&shared, &socket, own_transport, &mut outbox);
        // Under a flood the socket is always readable and the task would hold its worker
        // for many batches (tokio's budget counts readiness, not work); yielding after
        // each batch keeps the maintenance task, the reloads, the metrics server and the
        // signal handlers running.
        tokio::task::yield_now().await;
    }
}

/// Sends a batch's forwards and replies, then counts and logs the rest.
fn send_outbox(
    shared: &Shared,
    socket: &RelaySocket,
    own_transport: Transport,
    outbox: &mut Outbox,
) {
    let metrics = &shared.metrics;
    for run in &outbox.runs {
        let Some(via) = shared.socket(run.via) else {
            continue;
        };
        let contents = outbox.data.get(run.start..run.end).unwrap_or_default();
        let segment = (run.count > 1).then_some(run.segment);
        match via.try_send(run.to, contents, segment) {
            Ok(()) => metrics
                .forwarded(own_transport, Transport::of(&run.to))
                .add_many(run.count, contents.len()),
            Err(e) => count_send_error(metrics, &e, run.count),
        }
    }
    let mut start = 0;
    for &(to, end) in &outbox.reply_ends {
        let contents = outbox.replies.get(start..end).unwrap_or_default();
        start = end;
        if socket.try_send(to, contents, None).is_err() {
            metrics.dropped("send_queue_full");
        }
    }
    for _ in 0..outbox.no_socket {
        metrics.dropped("no_socket_for_family");
    }
    for &(src, kind) in &outbox.replied {
        count_reply(shared, kind, src);
    }
    for (src, action) in outbox.quiet.drain(..) {
        account(shared, action, src);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    fn runs(sizes: &[usize], max_segments: usize) -> Vec<(u16, usize, usize)> {
        let via = SocketId(Transport::udp4, 0);
        let mut outbox = Outbox::default();
        for (i, &len) in sizes.iter().enumerate() {
            // Datagrams of 1000 bytes and up go to port 2, the others to port 1.
            let port = if len >= 1000 { 2 } else { 1 };
            let to = SocketAddr::from(([127, 0, 0, 1], port));
            outbox.forward(to, via, max_segments, &vec![i as u8; len]);
        }
        assert_eq!(outbox.data.len(), sizes.iter().sum::<usize>());
        outbox
            .runs
            .iter()
            .map(|r| {
                assert_eq!(r.end - r.start, outbox.data[r.start..r.end].len());
                (r.to.port(), r.segment, r.count)
            })
            .collect()
    }

    #[test]
    fn forwards_join_a_gso_run_only_when_one_send_can_carry_them() {
        // Equal sizes join; a shorter one ends the run; a longer one starts a new one.
        assert_eq!(
            runs(&[100, 100, 100, 50, 100, 200, 200], 64),
            vec![(1, 100, 4), (1, 100, 1), (1, 200, 2)]
        );
        // Another destination starts a new run.
        assert_eq!(
            runs(&[1200, 100, 1200, 1200], 64),
            vec![(2, 1200, 1), (1, 100, 1), (2, 1200, 2)]
        );
        // The kernel's segment limit, and the 65,000-byte cap.
        assert_eq!(
            runs(&[100; 5], 2),
            vec![(1, 100, 2), (1, 100, 2), (1, 100, 1)]
        );
        assert_eq!(runs(&[1200; 60], 64), vec![(2, 1200, 54), (2, 1200, 6)]);
        // Without GSO every datagram is its own send.
        assert_eq!(runs(&[100; 3], 1), vec![(1, 100, 1); 3]);
    }
}
