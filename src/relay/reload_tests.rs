//! Tests of the reload loop against stalled, refused and rewritten files.

use super::*;
use crate::relay::daemon::{BoundRelay, Options};
use crate::relay::keys::DiscoKeyPair;
use crate::relay::policy::shared;
use std::sync::atomic::{AtomicBool, Ordering};

const TAILNET: &str = r#"{"nodes": {"relay": {"ipv4": "100.64.0.3",
    "relay": {"port": 40000, "static_endpoints": ["203.0.113.7:40000"]}}}}"#;

fn files_in(dir: &Path) -> PolicyFiles {
    PolicyFiles::new(dir.join("policy.hujson"), dir.join("tailnet.json"), "relay")
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

/// A relay on loopback serving `files`' first load, and its reloader (not yet running).
async fn relay_with(files: PolicyFiles, read_timeout: Duration) -> (BoundRelay, Reloader) {
    let first = files.load_first().unwrap();
    let policy = shared(first.policy);
    let options = Options {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        sockets_per_address: 1,
        ..Options::default()
    };
    let relay = BoundRelay::bind(
        options,
        DiscoKeyPair::from_secret_bytes([1; 32]),
        policy.clone(),
    )
    .await
    .unwrap();
    let reload = ReloadOptions {
        poll: Duration::from_millis(10),
        read_timeout,
        sighup: false,
    };
    let reloader = Reloader::new(files, first.stamp, policy, relay.handle(), reload);
    (relay, reloader)
}

fn failed_count(relay: &BoundRelay, n: usize) -> bool {
    relay.metrics().encode().contains(&format!(
        "tailgrant_relay_policy_reloads_total{{reason=\"failed\"}} {n}"
    ))
}

#[test]
fn the_first_load_gives_the_policy_and_the_tailnet_it_was_compiled_against() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    std::fs::write(files.policy_path(), "{}").unwrap();
    std::fs::write(files.tailnet_path(), TAILNET).unwrap();
    let first = files.load_first().unwrap();
    assert_eq!(first.policy.generation, 1);
    assert_eq!(first.policy.hash, input_hash(b"{}", TAILNET.as_bytes()));
    assert_eq!(
        first.tailnet.nodes["relay"].relay.as_ref().unwrap().port,
        40000
    );
    assert_eq!(first.stamp, files.stamp());
}

#[test]
fn a_first_load_of_an_invalid_policy_is_refused_with_each_error_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    std::fs::write(
        files.policy_path(),
        "{\n  \"grants\": [{\"src\": [\"*\"]}]\n}",
    )
    .unwrap();
    std::fs::write(files.tailnet_path(), TAILNET).unwrap();
    let failure = files.load_first().unwrap_err();
    assert!(failure
        .message()
        .ends_with("policy.hujson: the policy is not valid"));
    let lines = failure.lines();
    assert!(!lines.is_empty());
    assert!(
        lines.iter().all(|l| l.contains("policy.hujson:2:")),
        "{lines:?}"
    );
    assert!(failure.findings().is_some());
}

#[test]
fn a_file_over_the_size_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path()).max_input(8);
    std::fs::write(files.policy_path(), r#"{"grants": []}"#).unwrap();
    std::fs::write(files.tailnet_path(), TAILNET).unwrap();
    let failure = files.load_first().unwrap_err();
    assert!(
        failure
            .message()
            .contains("larger than the limit of 8 bytes"),
        "{failure}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_read_keeps_the_last_good_policy_is_counted_once_and_blocks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.hujson"), "{}").unwrap();
    std::fs::write(dir.path().join("tailnet.json"), TAILNET).unwrap();
    let stall = Arc::new(AtomicBool::new(false));
    let files = stalling_files(dir.path(), stall.clone());
    let (relay, reloader) = relay_with(files, Duration::from_millis(100)).await;
    let policy = reloader.policy.clone();
    let task = tokio::spawn(reloader.run());

    stall.store(true, Ordering::SeqCst);
    std::fs::write(dir.path().join("policy.hujson"), r#"{"grants": []}"#).unwrap();
    wait_until("the stalled read to be counted", || failed_count(&relay, 1)).await;
    assert_eq!(policy.load().generation, 1, "the last good policy stays");
    // The stalled read is counted once and no other read piles up behind it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(failed_count(&relay, 1), "{}", relay.metrics().encode());
    assert_eq!(policy.load().generation, 1);

    // Once the file system answers again, the change is applied.
    stall.store(false, Ordering::SeqCst);
    wait_until("the change to be applied", || policy.load().generation == 2).await;
    assert!(failed_count(&relay, 1), "{}", relay.metrics().encode());
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_reload_that_meets_a_stalled_read_is_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let policy_path = dir.path().join("policy.hujson");
    // Two policies of the same length: a rewrite with the old modification time put back
    // leaves the stamp unchanged, so only a forced reload can see it.
    let (old, new) = (r#"{"acls": [] }"#, r#"{"grants":[]}"#);
    assert_eq!(old.len(), new.len());
    std::fs::write(&policy_path, old).unwrap();
    std::fs::write(dir.path().join("tailnet.json"), TAILNET).unwrap();
    let stall = Arc::new(AtomicBool::new(false));
    let files = stalling_files(dir.path(), stall.clone());
    let (relay, reloader) = relay_with(files, Duration::from_millis(100)).await;
    let policy = reloader.policy.clone();
    let trigger = reloader.trigger();
    let task = tokio::spawn(reloader.run());

    let modified = std::fs::metadata(&policy_path).unwrap().modified().unwrap();
    stall.store(true, Ordering::SeqCst);
    std::fs::write(&policy_path, new).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&policy_path)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    trigger.reload();
    wait_until("the stalled forced read to be counted", || {
        failed_count(&relay, 1)
    })
    .await;
    assert_eq!(policy.load().generation, 1, "the last good policy stays");
    // The file system answers again: the forced reload is retried and sees the rewrite.
    stall.store(false, Ordering::SeqCst);
    wait_until("the rewrite to be applied", || {
        policy.load().generation == 2
    })
    .await;
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_at_the_policy_path_fails_the_reload_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let policy_path = dir.path().join("policy.hujson");
    std::fs::write(&policy_path, "{}").unwrap();
    std::fs::write(dir.path().join("tailnet.json"), TAILNET).unwrap();
    // Far longer than the test waits: the refusal must not need it.
    let (relay, reloader) = relay_with(files_in(dir.path()), Duration::from_secs(3600)).await;
    let policy = reloader.policy.clone();
    let mut events = reloader.events();
    let task = tokio::spawn(reloader.run());
    // Made beside it and renamed over it: one change, seen by one poll.
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo failed");
    std::fs::rename(&fifo, &policy_path).unwrap();
    wait_until("the refused read to be counted", || failed_count(&relay, 1)).await;
    assert_eq!(policy.load().generation, 1, "the last good policy stays");
    assert!(policy.load().valid);
    let event = events.borrow_and_update().clone();
    let ReloadEvent::Failed { message, .. } = event else {
        panic!("not a failure: {event:?}");
    };
    assert!(message.contains("not a regular file"), "{message}");
    task.abort();
}
