//! `tailgrant ping`: allocate an endpoint on a relay for two local client
//! identities, bind both legs and measure round trips through the relay.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::net::UdpSocket;

use super::client::{data_packet, ClientError, RelayClient};
use super::disco::{DiscoKey, RelayEndpoint};
use super::geneve::GENEVE_HEADER_LEN;
use super::keys::DiscoKeyPair;

/// What to ping.
#[derive(Debug, Clone)]
pub struct PingOptions {
    /// The relay's UDP address.
    pub relay: SocketAddr,
    /// The relay's disco public key.
    pub relay_key: DiscoKey,
    /// Round trips to measure.
    pub count: usize,
    /// How long to wait for each answer.
    pub timeout: Duration,
    /// Attempts per handshake step before giving up.
    pub attempts: usize,
}

/// The outcome of a ping.
#[derive(Debug, Clone)]
pub struct PingReport {
    /// The endpoint the relay allocated.
    pub endpoint: RelayEndpoint,
    /// Measured round trips, in order.
    pub rtts: Vec<Duration>,
    /// Pings that got no answer in time.
    pub lost: usize,
}

impl PingReport {
    /// The `q` quantile (0.0 to 1.0) of the round trips.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let mut sorted = self.rtts.clone();
        sorted.sort();
        let last = sorted.len().checked_sub(1)?;
        let at = ((last as f64) * q.clamp(0.0, 1.0)).round() as usize;
        sorted.get(at.min(last)).copied()
    }
}

/// Why a ping failed.
#[derive(Debug, thiserror::Error)]
pub enum PingError {
    /// A local socket failed.
    #[error("socket error talking to {1}")]
    Io(#[source] io::Error, SocketAddr),
    /// The relay did not answer the allocation (it drops denied requests
    /// silently: check the policy with `tailgrant explain`).
    #[error(
        "no answer to the allocation request: denied by policy, rate limited, or relay unreachable"
    )]
    NoAllocation,
    /// A leg's bind got no challenge in time.
    #[error("bind timeout: no challenge from the relay for the {0} leg")]
    BindTimeout(&'static str),
    /// The legs bound but no probe crossed the relay (after binding
    /// `attempts` times), or no ping came back.
    #[error("no packet came through the relay after binding")]
    NoForwarding,
    /// A reply that makes no sense.
    #[error("bad reply from the relay")]
    BadReply(#[from] ClientError),
}

async fn exchange(
    socket: &UdpSocket,
    to: SocketAddr,
    packet: &[u8],
    timeout: Duration,
    attempts: usize,
    buf: &mut [u8],
) -> Result<Option<usize>, PingError> {
    for _ in 0..attempts.max(1) {
        socket
            .send_to(packet, to)
            .await
            .map_err(|e| PingError::Io(e, to))?;
        if let Ok(r) = tokio::time::timeout(timeout, socket.recv_from(buf)).await {
            let (n, _) = r.map_err(|e| PingError::Io(e, to))?;
            return Ok(Some(n));
        }
    }
    Ok(None)
}

async fn bind_leg(
    client: &mut RelayClient,
    socket: &UdpSocket,
    opts: &PingOptions,
    endpoint: &RelayEndpoint,
    leg: &'static str,
) -> Result<(), PingError> {
    let mut buf = vec![0u8; 2048];
    let bind = client.bind(endpoint, 1);
    let n = exchange(
        socket,
        opts.relay,
        &bind,
        opts.timeout,
        opts.attempts,
        &mut buf,
    )
    .await?
    .ok_or(PingError::BindTimeout(leg))?;
    let answer = client.answer(endpoint, &buf[..n])?;
    socket
        .send_to(&answer, opts.relay)
        .await
        .map_err(|e| PingError::Io(e, opts.relay))?;
    Ok(())
}

/// What a data packet of `ping` carries after the Geneve header: a kind byte
/// and a sequence number, so that late or duplicate packets are recognised.
fn payload(kind: u8, seq: u64) -> [u8; 9] {
    let mut p = [kind; 9];
    p[1..].copy_from_slice(&seq.to_be_bytes());
    p
}

/// A probe, sent until one crosses the relay; not measured.
const PROBE: u8 = 0x50;
/// A measured ping.
const PING: u8 = 0x51;

/// Waits on `socket` for a data packet whose payload satisfies `want`,
/// skipping any other (late probes, pings written off as lost).
async fn recv_matching(
    socket: &UdpSocket,
    buf: &mut [u8],
    want: impl Fn(&[u8]) -> bool,
) -> io::Result<usize> {
    loop {
        let (n, _) = socket.recv_from(buf).await?;
        if buf.get(GENEVE_HEADER_LEN..n).is_some_and(&want) {
            return Ok(n);
        }
    }
}

/// Sends probes from `sa` until one reaches `sb` through the relay, so that
/// the first measured ping is not lost.
///
/// The relay does not answer an Answer (Tailscale's protocol has no bind
/// confirmation), and it serves several `SO_REUSEPORT` sockets: the second
/// leg's Answer and the first data packet come from different source
/// addresses, may land on different sockets and be handled in either order.
/// A data packet handled first is dropped as `not_bound`. So the client
/// probes, with a short, growing interval (1 ms, 2 ms, ... up to
/// `opts.timeout`), until a probe crosses, which shows that both legs are
/// bound. If none crosses within `opts.timeout`, an Answer may have been lost:
/// both legs are bound again, up to `opts.attempts` times in all.
async fn await_forwarding(
    opts: &PingOptions,
    legs: [(&mut RelayClient, &UdpSocket, &'static str); 2],
    endpoint: &RelayEndpoint,
) -> Result<(), PingError> {
    let [(ca, sa, first), (cb, sb, second)] = legs;
    let mut buf = vec![0u8; 2048];
    let mut seq = 0u64;
    for attempt in 0..opts.attempts.max(1) {
        if attempt > 0 {
            bind_leg(ca, sa, opts, endpoint, first).await?;
            bind_leg(cb, sb, opts, endpoint, second).await?;
        }
        let deadline = tokio::time::Instant::now() + opts.timeout;
        let mut interval = Duration::from_millis(1);
        loop {
            let probe = data_packet(endpoint.vni, &payload(PROBE, seq));
            seq += 1;
            sa.send_to(&probe, opts.relay)
                .await
                .map_err(|e| PingError::Io(e, opts.relay))?;
            let wait = (tokio::time::Instant::now() + interval).min(deadline);
            let crossed = recv_matching(sb, &mut buf, |p| p.first() == Some(&PROBE));
            match tokio::time::timeout_at(wait, crossed).await {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) => return Err(PingError::Io(e, opts.relay)),
                Err(_) if wait >= deadline => break,
                Err(_) => interval = (interval * 2).min(opts.timeout),
            }
        }
    }
    Err(PingError::NoForwarding)
}

/// Allocates with identity `a` for the pair (`a`, `b`), binds both legs from
/// two local sockets, waits until the relay forwards between them (see
/// [`PingError::NoForwarding`]) and sends `count` pings from `a` to `b` and
/// back.
pub async fn ping(
    opts: &PingOptions,
    a: DiscoKeyPair,
    b: DiscoKeyPair,
) -> Result<PingReport, PingError> {
    let local: SocketAddr = if opts.relay.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let sa = UdpSocket::bind(local)
        .await
        .map_err(|e| PingError::Io(e, local))?;
    let sb = UdpSocket::bind(local)
        .await
        .map_err(|e| PingError::Io(e, local))?;
    let b_key = *b.public();
    let mut ca = RelayClient::new(a, StdRng::from_entropy());
    let mut cb = RelayClient::new(b, StdRng::from_entropy());
    let mut buf = vec![0u8; 2048];

    let request = ca.allocate_request(&opts.relay_key, &b_key, 1);
    let n = exchange(
        &sa,
        opts.relay,
        &request,
        opts.timeout,
        opts.attempts,
        &mut buf,
    )
    .await?
    .ok_or(PingError::NoAllocation)?;
    let endpoint = ca.allocate_response(&opts.relay_key, &buf[..n], 1)?;

    bind_leg(&mut ca, &sa, opts, &endpoint, "first").await?;
    bind_leg(&mut cb, &sb, opts, &endpoint, "second").await?;
    await_forwarding(
        opts,
        [(&mut ca, &sa, "first"), (&mut cb, &sb, "second")],
        &endpoint,
    )
    .await?;

    let mut rtts = Vec::with_capacity(opts.count);
    let mut lost = 0;
    for seq in 0..opts.count as u64 {
        let want = payload(PING, seq);
        let out = data_packet(endpoint.vni, &want);
        let start = Instant::now();
        sa.send_to(&out, opts.relay)
            .await
            .map_err(|e| PingError::Io(e, opts.relay))?;
        let round = async {
            // b echoes this ping; a waits for the echo. Late probes and
            // pings already written off are skipped on both sides.
            recv_matching(&sb, &mut buf, |p| p == want).await?;
            sb.send_to(&out, opts.relay).await?;
            recv_matching(&sa, &mut buf, |p| p == want).await?;
            Ok::<_, io::Error>(())
        };
        match tokio::time::timeout(opts.timeout, round).await {
            Ok(Ok(())) => rtts.push(start.elapsed()),
            Ok(Err(e)) => return Err(PingError::Io(e, opts.relay)),
            Err(_) => lost += 1,
        }
    }
    if rtts.is_empty() && opts.count > 0 {
        return Err(PingError::NoForwarding);
    }
    Ok(PingReport {
        endpoint,
        rtts,
        lost,
    })
}
