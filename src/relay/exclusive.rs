//! One relay per UDP port.
//!
//! The relay binds several `SO_REUSEPORT` sockets per address, as Tailscale's
//! relay server does (`bindSockets` in `net/udprelay/server.go`), so that the
//! kernel spreads flows over them. The same option would let a second relay
//! of the same user bind the same port and silently take a share of the
//! flows: the kernel hashes each flow to one socket of the group, whichever
//! process holds it, so the endpoints allocated by one process would see part
//! of their traffic land in the other. Two checks keep the port to one process:
//!
//! - before binding, a probe socket without `SO_REUSEPORT` is bound to the
//!   address and closed: it fails with `EADDRINUSE` when any other socket
//!   holds the port, with or without the option;
//! - after binding (on Linux), the kernel's socket table (`/proc/net/udp`,
//!   `/proc/net/udp6`) must list no socket on that port and an overlapping
//!   address other than ours: two relays starting at the same instant both
//!   pass the probe, then both see the other and refuse.

use std::io;
use std::net::{IpAddr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};

/// Fails with [`io::ErrorKind::AddrInUse`] when another socket holds `addr`'s
/// port on an overlapping address. Port 0 (the kernel picks a free port) is
/// never taken.
pub(crate) fn probe(addr: SocketAddr) -> io::Result<()> {
    if addr.port() == 0 {
        return Ok(());
    }
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())
}

/// How many sockets other than `ours` (their inode numbers) the kernel lists
/// on `addr`'s port with an address that overlaps `addr`'s (the same, or
/// either one unspecified). `None` where the table cannot be read (not
/// Linux, or no `/proc`): the probe alone decides there.
pub fn foreign_sockets(addr: SocketAddr, ours: &[u64]) -> Option<usize> {
    let table = if addr.is_ipv4() {
        "/proc/net/udp"
    } else {
        "/proc/net/udp6"
    };
    let text = std::fs::read_to_string(table).ok()?;
    Some(
        parse_table(&text)
            .filter(|(local, inode)| {
                local.port() == addr.port()
                    && overlaps(local.ip(), addr.ip())
                    && !ours.contains(inode)
            })
            .count(),
    )
}

/// The inode number of a socket, as `/proc/net/udp` lists it.
#[cfg(target_os = "linux")]
pub(crate) fn inode(socket: &impl std::os::fd::AsRawFd) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let fd = socket.as_raw_fd();
    std::fs::metadata(format!("/proc/self/fd/{fd}"))
        .ok()
        .map(|m| m.ino())
}

/// The inode number of a socket (unknown off Linux).
#[cfg(not(target_os = "linux"))]
pub(crate) fn inode<T>(_socket: &T) -> Option<u64> {
    None
}

fn overlaps(a: IpAddr, b: IpAddr) -> bool {
    a == b || a.is_unspecified() || b.is_unspecified()
}

/// `(local address, inode)` of every row of `/proc/net/udp` or `udp6`. The
/// kernel writes an address as 32-bit words in hexadecimal, each the word's
/// value in host byte order, then `:` and the port in hexadecimal.
fn parse_table(text: &str) -> impl Iterator<Item = (SocketAddr, u64)> + '_ {
    text.lines().skip(1).filter_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let local = parse_local(fields.get(1)?)?;
        let inode = fields.get(9)?.parse().ok()?;
        Some((local, inode))
    })
}

fn parse_local(field: &str) -> Option<SocketAddr> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let mut bytes = Vec::with_capacity(16);
    for i in (0..addr.len()).step_by(8) {
        let word = u32::from_str_radix(addr.get(i..i + 8)?, 16).ok()?;
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    let ip = match bytes.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?),
        16 => IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    /// Rows as a little-endian Linux host writes them.
    #[cfg(target_endian = "little")]
    #[test]
    fn kernel_socket_table_rows_are_read() {
        let v4 = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
  12: 0100007F:1E61 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 4242 2 0000000000000000 0\n\
  13: 00000000:1E61 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 4243 2 0000000000000000 0\n\
  14: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 99 2 0000000000000000 0\n\
  garbage\n";
        let rows: Vec<_> = parse_table(v4).collect();
        assert_eq!(
            rows,
            vec![
                ("127.0.0.1:7777".parse().unwrap(), 4242),
                ("0.0.0.0:7777".parse().unwrap(), 4243),
                ("127.0.0.1:53".parse().unwrap(), 99),
            ]
        );
        let v6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
  1: 00000000000000000000000001000000:1E61 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 77 2 0000000000000000 0\n";
        let rows: Vec<_> = parse_table(v6).collect();
        assert_eq!(rows, vec![("[::1]:7777".parse().unwrap(), 77)]);
    }

    #[test]
    fn overlapping_addresses() {
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(overlaps(lo, lo));
        assert!(overlaps(any, lo));
        assert!(overlaps(lo, any));
        assert!(!overlaps(lo, other));
    }

    #[test]
    fn a_held_port_fails_the_probe() {
        let held = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = held.local_addr().unwrap();
        let err = probe(addr).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        drop(held);
        probe(addr).unwrap();
        probe("127.0.0.1:0".parse().unwrap()).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_socket_of_another_owner_on_the_port_is_seen() {
        let mine = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = mine.local_addr().unwrap();
        let ours = [inode(&mine).unwrap()];
        assert_eq!(foreign_sockets(addr, &ours), Some(0));
        assert_eq!(foreign_sockets(addr, &[]), Some(1));
        let any = SocketAddr::new("0.0.0.0".parse().unwrap(), addr.port());
        assert_eq!(foreign_sockets(any, &[]), Some(1));
    }
}
