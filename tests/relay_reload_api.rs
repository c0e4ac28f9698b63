//! The reload loop as an embedder uses it (`relay::reload`): a relay on loopback, its policy
//! and tailnet files, and reloads forced through a `ReloadTrigger`. A reload to a denying
//! policy closes the endpoints it no longer allows; a bad file keeps the last good policy
//! and says why; no failed reload ever lets a denied node allocate.
#![cfg(feature = "relay")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use tailgrant::relay::client::RelayClient;
use tailgrant::relay::daemon::{BoundRelay, Options};
use tailgrant::relay::disco::DiscoKey;
use tailgrant::relay::keys::{public_text, DiscoKeyPair};
use tailgrant::relay::policy::shared;
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

/// A relay on loopback serving the files in `dir`, with its reloader running; reloads
/// happen only when forced (the poll is an hour).
struct Embedded {
    addr: SocketAddr,
    key: DiscoKey,
    relay: tokio::task::JoinHandle<()>,
    handle: tailgrant::relay::daemon::RelayHandle,
    trigger: ReloadTrigger,
    events: watch::Receiver<ReloadEvent>,
    reloader: tokio::task::JoinHandle<()>,
}

impl Embedded {
    async fn start(dir: &Path) -> Self {
        let files = PolicyFiles::new(dir.join("policy.hujson"), dir.join("tailnet.json"), "relay");
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
        let reload = ReloadOptions {
            poll: Duration::from_secs(3600),
            read_timeout: Duration::from_secs(10),
            sighup: false,
        };
        let reloader = Reloader::new(files, first.stamp, policy, bound.handle(), reload);
        let (trigger, events) = (reloader.trigger(), reloader.events());
        let (addr, key, handle) = (bound.local_addrs()[0], bound.public_key(), bound.handle());
        Self {
            addr,
            key,
            relay: tokio::spawn(async move {
                bound.serve(std::future::pending()).await.unwrap();
            }),
            handle,
            trigger,
            events,
            reloader: tokio::spawn(reloader.run()),
        }
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
