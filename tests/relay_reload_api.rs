//! The reload loop as an embedder uses it (`relay::reload`): a relay on loopback, its policy
//! and tailnet files, and reloads forced through a `ReloadTrigger` or seen by polling. A
//! reload to a denying policy closes the endpoints it no longer allows; a bad file keeps the
//! last good policy and says why; no failed reload ever lets a denied node allocate; a
//! stalled or refused read keeps the last good policy, is counted once and blocks nothing.
#![cfg(feature = "relay")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use tailgrant::fsutil::{read_bounded, DEFAULT_MAX_INPUT};
use tailgrant::relay::client::RelayClient;
use tailgrant::relay::daemon::{BoundRelay, Options};
use tailgrant::relay::disco::DiscoKey;
use tailgrant::relay::keys::{public_text, DiscoKeyPair};
use tailgrant::relay::metrics::Metrics;
use tailgrant::relay::policy::{shared, SharedPolicy};
use tailgrant::relay::reload::{PolicyFiles, ReloadEvent, ReloadOptions, ReloadTrigger, Reloader};
use tokio::net::UdpSocket;
use tokio::sync::watch;

const ALLOW: &str = r#"{
  "tagOwners": {"tag:relay": ["autogroup:admin"]},
  "grants": [{"src": ["alice@example.com"], "dst": ["tag:relay"],
              "app": {"tailscale.com/cap/relay": []}}]
}"#;

const DENY: &str = r#"{
  "tagOwners": {"tag:relay": ["autogroup:admin"]},
  "grants": [{"src": ["bob@example.com"], "dst": ["tag:relay"],
              "app": {"tailscale.com/cap/relay": []}}]
}"#;

fn alice_keys() -> DiscoKeyPair {
    DiscoKeyPair::from_secret_bytes([2; 32])
}

fn tailnet(alice_key: &str) -> String {
    format!(
        r#"{{
  "tailnet": "alice@example.com",
  "users": [{{"name": "alice", "email": "alice@example.com"}},
            {{"name": "bob", "email": "bob@example.com"}}],
  "nodes": {{
    "laptop": {{"ipv4": "100.64.0.1", "user": "alice", "disco_key": "{alice_key}"}},
    "relay": {{"ipv4": "100.64.0.3", "tags": ["tag:relay"]}}
  }}
}}"#
    )
}

fn good_tailnet() -> String {
    tailnet(&public_text(alice_keys().public()))
}

fn files_in(dir: &Path) -> PolicyFiles {
    PolicyFiles::new(dir.join("policy.hujson"), dir.join("tailnet.json"), "relay")
}

/// Reloads only when forced: the poll is an hour.
fn forced_only() -> ReloadOptions {
    ReloadOptions {
        poll: Duration::from_secs(3600),
        read_timeout: Duration::from_secs(10),
        sighup: false,
    }
}

/// Reloads on every change, polled every 10 ms, with reads given `read_timeout`.
fn polling(read_timeout: Duration) -> ReloadOptions {
    ReloadOptions {
        poll: Duration::from_millis(10),
        read_timeout,
        sighup: false,
    }
}

/// A relay on loopback serving its files' first load, with its reloader running.
struct Embedded {
    addr: SocketAddr,
    key: DiscoKey,
    relay: tokio::task::JoinHandle<()>,
    handle: tailgrant::relay::daemon::RelayHandle,
    metrics: Arc<Metrics>,
    /// The policy the relay decides with.
    policy: SharedPolicy,
    trigger: ReloadTrigger,
    events: watch::Receiver<ReloadEvent>,
    reloader: tokio::task::JoinHandle<()>,
}

impl Embedded {
    /// The files in `dir`, reloaded only when forced.
    async fn start(dir: &Path) -> Self {
        Self::start_with(files_in(dir), forced_only()).await
    }

    async fn start_with(files: PolicyFiles, reload: ReloadOptions) -> Self {
        let first = files.load_first().unwrap();
        let policy = shared(first.policy);
        let options = Options {
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            sockets_per_address: 1,
            maintenance_interval: Duration::from_secs(3600),
            ..Options::default()
        };
        let bound = BoundRelay::bind(
            options,
            DiscoKeyPair::from_secret_bytes([1; 32]),
            policy.clone(),
        )
        .await
        .unwrap();
        let reloader = Reloader::new(files, first.stamp, policy.clone(), bound.handle(), reload);
        let (trigger, events) = (reloader.trigger(), reloader.events());
        let (addr, key, handle) = (bound.local_addrs()[0], bound.public_key(), bound.handle());
        let metrics = bound.metrics();
        Self {
            addr,
            key,
            relay: tokio::spawn(async move {
                bound.serve(std::future::pending()).await.unwrap();
            }),
            handle,
            metrics,
            policy,
            trigger,
            events,
            reloader: tokio::spawn(reloader.run()),
        }
    }

    /// The generation of the policy the relay decides with.
    fn generation(&self) -> u64 {
        self.policy.load().generation
    }

    /// Whether exactly `n` reloads have failed.
    fn failed_count(&self, n: usize) -> bool {
        self.failures() == n
    }

    /// The reloads counted as failed so far.
    fn failures(&self) -> usize {
        let metrics = self.metrics.encode();
        metrics
            .lines()
            .find_map(|l| {
                l.strip_prefix("tailgrant_relay_policy_reloads_total{reason=\"failed\"} ")
            })
            .map_or(0, |n| n.trim().parse().unwrap())
    }

    /// Forces a reload and returns what it did.
    async fn reload(&mut self) -> ReloadEvent {
        self.events.borrow_and_update();
        self.trigger.reload();
        tokio::time::timeout(Duration::from_secs(20), self.events.changed())
            .await
            .expect("a reload event")
            .unwrap();
        self.events.borrow_and_update().clone()
    }

    /// Whether the relay answers an allocation request of alice's (for a new peer).
    async fn alice_allocates(&self, peer: u8) -> bool {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut alice = RelayClient::new(alice_keys(), StdRng::seed_from_u64(u64::from(peer)));
        let request = alice.allocate_request(&self.key, &[peer; 32], 1);
        socket.send_to(&request, self.addr).await.unwrap();
        let mut buf = vec![0u8; 2048];
        match tokio::time::timeout(Duration::from_millis(300), socket.recv_from(&mut buf)).await {
            Ok(Ok((n, _))) => alice.allocate_response(&self.key, &buf[..n], 1).is_ok(),
            _ => false,
        }
    }

    fn stop(self) {
        self.reloader.abort();
        self.relay.abort();
    }
}

fn write(dir: &Path, policy: &str, tailnet: &str) {
    std::fs::write(dir.join("policy.hujson"), policy).unwrap();
    std::fs::write(dir.join("tailnet.json"), tailnet).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_to_a_denying_policy_closes_the_endpoints_it_no_longer_allows() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ALLOW, &good_tailnet());
    let mut relay = Embedded::start(dir.path()).await;
    assert!(relay.alice_allocates(7).await);
    assert_eq!(relay.handle.endpoint_counts(), (1, 0));

    std::fs::write(dir.path().join("policy.hujson"), DENY).unwrap();
    let event = relay.reload().await;
    let ReloadEvent::Applied {
        generation,
        closed,
        forced,
        ..
    } = event
    else {
        panic!("not applied: {event:?}");
    };
    assert_eq!((generation, closed, forced), (2, 1, true));
    assert_eq!(relay.handle.endpoint_counts(), (0, 0));
    assert!(!relay.alice_allocates(8).await, "alice is denied now");
    relay.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_policy_file_keeps_the_last_good_policy_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ALLOW, &good_tailnet());
    let mut relay = Embedded::start(dir.path()).await;
    assert!(relay.alice_allocates(7).await);

    // A grant without `ip` or `app`, on line 2.
    let broken = "{\n  \"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"]}]\n}";
    std::fs::write(dir.path().join("policy.hujson"), broken).unwrap();
    let event = relay.reload().await;
    let ReloadEvent::Failed {
        generation,
        message,
        lines,
    } = event
    else {
        panic!("not a failure: {event:?}");
    };
    assert_eq!(generation, 1, "the last good policy stays");
    assert!(
        message.ends_with("policy.hujson: the policy is not valid"),
        "{message}"
    );
    assert!(!lines.is_empty());
    assert!(
        lines.iter().all(|l| l.contains("policy.hujson:2:")),
        "{lines:?}"
    );
    // The endpoint and the grant survive.
    assert_eq!(relay.handle.endpoint_counts(), (1, 0));
    assert!(relay.alice_allocates(8).await);
    relay.stop();
}

/// A change made to the files in a directory.
type Change = dyn Fn(&Path);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_failed_reload_lets_a_denied_node_allocate() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), DENY, &good_tailnet());
    let mut relay = Embedded::start(dir.path()).await;
    assert!(!relay.alice_allocates(1).await);

    // Each of these would allow alice if it were taken at face value or if a failure fell
    // back to "allow"; each must fail and keep the denying policy.
    let not_utf8 = [b'{', 0xFF, b'}'];
    let cases: Vec<(&str, Box<Change>, &str)> = vec![
        (
            "a policy that does not parse",
            Box::new(|d: &Path| write(d, &ALLOW[..ALLOW.len() - 3], &good_tailnet())),
            "the policy is not valid",
        ),
        (
            "a policy that is not UTF-8",
            Box::new(move |d: &Path| {
                std::fs::write(d.join("policy.hujson"), not_utf8).unwrap();
            }),
            "not UTF-8",
        ),
        (
            "a missing tailnet file",
            Box::new(|d: &Path| {
                std::fs::write(d.join("policy.hujson"), ALLOW).unwrap();
                std::fs::remove_file(d.join("tailnet.json")).unwrap();
            }),
            "tailnet.json",
        ),
        (
            "a malformed disco key",
            Box::new(|d: &Path| write(d, ALLOW, &tailnet("discokey:00"))),
            "malformed `disco_key`",
        ),
        (
            "a relay node missing from the tailnet",
            Box::new(|d: &Path| write(d, ALLOW, &good_tailnet().replace("\"relay\"", "\"r2\""))),
            "relay node `relay` is not in the tailnet",
        ),
    ];
    for (what, make, says) in &cases {
        make(dir.path());
        let event = relay.reload().await;
        let ReloadEvent::Failed {
            generation,
            message,
            ..
        } = &event
        else {
            panic!("{what}: not a failure: {event:?}");
        };
        assert_eq!(*generation, 1, "{what}");
        assert!(message.contains(says), "{what}: {message}");
        assert!(!relay.alice_allocates(2).await, "{what} let alice allocate");
    }

    // The same test sees an allowing policy when one is really given.
    write(dir.path(), ALLOW, &good_tailnet());
    assert!(matches!(
        relay.reload().await,
        ReloadEvent::Applied { generation: 2, .. }
    ));
    assert!(relay.alice_allocates(3).await);
    relay.stop();
}

/// The files in `dir`, read by a stand-in that blocks while `stall` is set (at most 20 s),
/// as a read on a hung network file system does.
fn stalling_files(dir: &Path, stall: Arc<AtomicBool>) -> PolicyFiles {
    files_in(dir).read_with(move |path| {
        let until = Instant::now() + Duration::from_secs(20);
        while stall.load(Ordering::SeqCst) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        read_bounded(path, DEFAULT_MAX_INPUT).map_err(|e| e.to_string())
    })
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_read_keeps_the_last_good_policy_is_counted_once_and_blocks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "{}", &good_tailnet());
    let stall = Arc::new(AtomicBool::new(false));
    let files = stalling_files(dir.path(), stall.clone());
    let relay = Embedded::start_with(files, polling(Duration::from_millis(100))).await;

    stall.store(true, Ordering::SeqCst);
    std::fs::write(dir.path().join("policy.hujson"), r#"{"grants": []}"#).unwrap();
    wait_until("the stalled read to be counted", || relay.failed_count(1)).await;
    assert_eq!(relay.generation(), 1, "the last good policy stays");
    // The stalled read is counted once and no other read piles up behind it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(relay.failed_count(1), "{}", relay.metrics.encode());
    assert_eq!(relay.generation(), 1);

    // Once the file system answers again, the change is applied.
    stall.store(false, Ordering::SeqCst);
    wait_until("the change to be applied", || relay.generation() == 2).await;
    assert!(relay.failed_count(1), "{}", relay.metrics.encode());
    relay.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_reload_that_meets_a_stalled_read_is_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let policy_path = dir.path().join("policy.hujson");
    // Two policies of the same length: a rewrite with the old modification time put back
    // leaves the stamp unchanged, so only a forced reload can see it.
    let (old, new) = (r#"{"acls": [] }"#, r#"{"grants":[]}"#);
    assert_eq!(old.len(), new.len());
    write(dir.path(), old, &good_tailnet());
    let stall = Arc::new(AtomicBool::new(false));
    let files = stalling_files(dir.path(), stall.clone());
    let relay = Embedded::start_with(files, polling(Duration::from_millis(100))).await;

    let modified = std::fs::metadata(&policy_path).unwrap().modified().unwrap();
    stall.store(true, Ordering::SeqCst);
    std::fs::write(&policy_path, new).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&policy_path)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    relay.trigger.reload();
    // A poll may see the rewrite before its modification time is put back and stall first:
    // then the forced reload that meets its stalled read is a second failure.
    wait_until("the stalled forced read to be counted", || {
        relay.failures() >= 1
    })
    .await;
    assert_eq!(relay.generation(), 1, "the last good policy stays");
    // The file system answers again: the forced reload is retried and sees the rewrite.
    stall.store(false, Ordering::SeqCst);
    wait_until("the rewrite to be applied", || relay.generation() == 2).await;
    relay.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_at_the_policy_path_fails_the_reload_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let policy_path = dir.path().join("policy.hujson");
    write(dir.path(), "{}", &good_tailnet());
    // Far longer than the test waits: the refusal must not need it.
    let mut relay =
        Embedded::start_with(files_in(dir.path()), polling(Duration::from_secs(3600))).await;
    // Made beside it and renamed over it: one change, seen by one poll.
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo failed");
    std::fs::rename(&fifo, &policy_path).unwrap();
    wait_until("the refused read to be counted", || relay.failed_count(1)).await;
    assert_eq!(relay.generation(), 1, "the last good policy stays");
    assert!(relay.policy.load().valid);
    let event = relay.events.borrow_and_update().clone();
    let ReloadEvent::Failed { message, .. } = event else {
        panic!("not a failure: {event:?}");
    };
    assert!(message.contains("not a regular file"), "{message}");
    relay.stop();
}
