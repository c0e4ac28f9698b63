//! The relay's HTTP endpoints for scrapers and load balancers: `/metrics` (Prometheus
//! text), `/healthz` (the process answers) and `/readyz` (a valid policy is loaded, so a
//! load balancer sends traffic only to relays that can decide).
//!
//! Invariants: a request is read with a size bound (4 KiB of head) and each connection
//! with a time bound (5 s), so a slow or hostile client holds no more than one task for a
//! while; anything but `GET` is refused.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::metrics::Metrics;
use super::policy::SharedPolicy;

/// Serves `/metrics`, `/healthz` and `/readyz` on `listener` until the task
/// is dropped. Requests are read with a size and time bound.
pub(crate) async fn serve_http(listener: TcpListener, metrics: Arc<Metrics>, policy: SharedPolicy) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        let policy = policy.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(
                Duration::from_secs(5),
                answer_http(stream, &metrics, &policy),
            )
            .await;
        });
    }
}

async fn answer_http(
    mut stream: TcpStream,
    metrics: &Metrics,
    policy: &SharedPolicy,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
        if len == buf.len() {
            return Ok(());
        }
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            break;
        }
        len += n;
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let (status, ctype, body) = match (method, path) {
        ("GET", "/metrics") => (
            "200 OK",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.encode(),
        ),
        ("GET", "/healthz") => ("200 OK", "text/plain", "ok\n".to_owned()),
        ("GET", "/readyz") => {
            if policy.load().valid {
                ("200 OK", "text/plain", "ready\n".to_owned())
            } else {
                (
                    "503 Service Unavailable",
                    "text/plain",
                    "no valid policy\n".to_owned(),
                )
            }
        }
        ("GET", _) => ("404 Not Found", "text/plain", "not found\n".to_owned()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "method not allowed\n".to_owned(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
