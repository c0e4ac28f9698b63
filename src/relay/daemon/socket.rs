//! The relay's UDP sockets: binding (`SO_REUSEPORT`, buffer sizes, IPv6 only), sends that
//! never wait (a full queue drops and counts, it never blocks a loop), and the unbatched
//! receive loop, one datagram per system call.
//!
//! Invariant: every decision is taken under the core's lock with the policy that
//! [`Shared::policy_for_decisions`] returns, so no datagram is decided by a policy older
//! than the last revocation.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use quinn_udp::{Transmit, UdpSockRef, UdpSocketState, BATCH_SIZE};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket;

use super::accounting::{account, count_reply, count_send_error, TimedPolicy};
use super::{RelayError, Shared};
use crate::relay::metrics::Transport;
use crate::relay::server::Action;

/// One UDP socket of the relay.
pub(super) struct RelaySocket {
    pub(super) io: UdpSocket,
    /// Set for batched I/O (it turns GRO on, so then every receive on this
    /// socket must go through it).
    pub(super) batch: Option<UdpSocketState>,
}

impl RelaySocket {
    pub(super) fn new(io: UdpSocket, batched: bool) -> Self {
        let batch = if batched {
            match UdpSocketState::new(UdpSockRef::from(&io)) {
                Ok(state) => Some(state),
                Err(e) => {
                    tracing::warn!(error = %e, "batched I/O unavailable on a socket, one datagram per call");
                    None
                }
            }
        } else {
            None
        };
        Self { io, batch }
    }

    /// How many datagrams one send may carry (GSO segments).
    pub(super) fn max_segments(&self) -> usize {
        self.batch.as_ref().map_or(1, |s| s.max_gso_segments())
    }

    /// Sends `contents` to `to` without waiting: one datagram, or with
    /// `segment` several of that size (the last may be shorter).
    pub(super) fn try_send(
        &self,
        to: SocketAddr,
        contents: &[u8],
        segment: Option<usize>,
    ) -> io::Result<()> {
        match &self.batch {
            Some(state) => self.io.try_io(Interest::WRITABLE, || {
                let transmit = Transmit {
                    destination: to,
                    ecn: None,
                    contents,
                    segment_size: segment,
                    src_ip: None,
                };
                state.try_send(UdpSockRef::from(&self.io), &transmit)
            }),
            None => self.io.try_send_to(contents, to).map(drop),
        }
    }
}

/// A socket of the relay: its family and index in that family's pool.
#[derive(Debug, Clone, Copy)]
pub(super) struct SocketId(pub(super) Transport, pub(super) usize);

pub(super) fn bind_udp(addr: SocketAddr, buffer: Option<usize>) -> Result<UdpSocket, RelayError> {
    let err = |e| RelayError::BindSocket(e, addr);
    let socket =
        Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP)).map_err(err)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(err)?;
    }
    #[cfg(unix)]
    socket.set_reuse_port(true).map_err(err)?;
    if let Some(size) = buffer {
        socket.set_recv_buffer_size(size).map_err(err)?;
        socket.set_send_buffer_size(size).map_err(err)?;
    }
    socket.set_nonblocking(true).map_err(err)?;
    socket.bind(&addr.into()).map_err(err)?;
    UdpSocket::from_std(socket.into()).map_err(err)
}

/// One datagram per system call: `recv_from`, then `send_to` what the core says.
pub(super) async fn socket_loop(shared: Arc<Shared>, socket: Arc<RelaySocket>, id: SocketId) {
    let own_transport = id.0;
    let metrics = &shared.metrics;
    let mut buf = vec![0u8; 65_536];
    let mut out = Vec::with_capacity(2048);
    let mut handled = 0usize;
    loop {
        // As the batched loop yields after each batch, this one yields every batch's worth
        // of datagrams, so a flood cannot keep other tasks from running.
        handled = handled.wrapping_add(1);
        if handled.is_multiple_of(BATCH_SIZE) {
            tokio::task::yield_now().await;
        }
        let (n, src) = match socket.io.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "receive failed");
                continue;
            }
        };
        let packet = &buf[..n];
        let (action, applied) = {
            let mut core = shared.core();
            let (loaded, applied) = shared.policy_for_decisions(&mut core);
            let policy = TimedPolicy {
                inner: &*loaded.policy,
                metrics,
            };
            let action = core.handle(src, packet, Instant::now(), &policy, &mut out);
            (action, applied)
        };
        if let Some((policy, closed)) = applied {
            shared.report_applied(&policy, &closed);
        }
        match action {
            Action::Forward(to) => {
                let Some(out_socket) = shared.socket_for(&to, id).and_then(|i| shared.socket(i))
                else {
                    metrics.dropped("no_socket_for_family");
                    continue;
                };
                match out_socket.try_send(to, packet, None) {
                    Ok(()) => metrics.forwarded(own_transport, Transport::of(&to)).add(n),
                    Err(e) => count_send_error(metrics, &e, 1),
                }
            }
            Action::Reply(kind) => {
                count_reply(&shared, kind, src);
                if socket.try_send(src, &out, None).is_err() {
                    metrics.dropped("send_queue_full");
                }
            }
            other => account(&shared, other, src),
        }
    }
}
