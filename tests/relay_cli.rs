//! `tailgrant keygen`, `relay` and `ping` as a user runs them: the real binary, loopback
//! sockets, policy reloads by file change and by SIGHUP, shutdown by SIGTERM.
#![cfg(all(feature = "cli", feature = "relay", unix))]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tailgrant");

fn tailgrant() -> assert_cmd::Command {
    assert_cmd::Command::new(BIN)
}

/// Runs `keygen -o dir/name` and returns the public key it printed.
fn keygen(dir: &Path, name: &str) -> String {
    let out = tailgrant()
        .args(["keygen", "-o"])
        .arg(dir.join(name))
        .assert()
        .code(0);
    String::from_utf8(out.get_output().stdout.clone())
        .unwrap()
        .trim()
        .to_owned()
}

/// `laptop` (alice) may allocate on `relay` under `ALLOW_ALICE`; `phone` (bob) may not.
const ALLOW_ALICE: &str = r#"{
  "tagOwners": {"tag:relay": ["autogroup:admin"]},
  "grants": [
    {"src": ["*"], "dst": ["*"], "ip": ["*"]},
    // the relay grant
    {"src": ["alice@example.com"], "dst": ["tag:relay"], "app": {"tailscale.com/cap/relay": []}},
  ],
}
"#;

/// The relay grant now names bob only: alice's endpoint is revoked.
const ALLOW_BOB: &str = r#"{
  "tagOwners": {"tag:relay": ["autogroup:admin"]},
  "grants": [
    {"src": ["*"], "dst": ["*"], "ip": ["*"]},
    {"src": ["bob@example.com"], "dst": ["tag:relay"], "app": {"tailscale.com/cap/relay": []}},
  ],
}
"#;

const BROKEN: &str = r#"{"grants": [{"src": ["*"], "dst": ["*"]}]}"#;

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let laptop = keygen(dir.path(), "laptop.key");
        let phone = keygen(dir.path(), "phone.key");
        keygen(dir.path(), "relay.key");
        let tailnet = format!(
            r#"{{
  "tailnet": "alice@example.com",
  "users": [{{"name": "alice", "email": "alice@example.com"}},
            {{"name": "bob", "email": "bob@example.com"}}],
  "nodes": {{
    "laptop": {{"ipv4": "100.64.0.1", "user": "alice", "disco_key": "{laptop}"}},
    "phone": {{"ipv4": "100.64.0.2", "user": "bob", "disco_key": "{phone}"}},
    "relay": {{"ipv4": "100.64.0.3", "tags": ["tag:relay"], "relay": {{"port": 7777}}}}
  }}
}}"#
        );
        std::fs::write(dir.path().join("tailnet.json"), tailnet).unwrap();
        std::fs::write(dir.path().join("policy.hujson"), ALLOW_ALICE).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn relay_command(&self) -> Command {
        self.relay_command_for("relay")
    }

    fn relay_command_for(&self, node: &str) -> Command {
        self.relay_command_on(node, "127.0.0.1:0")
    }

    fn relay_command_on(&self, node: &str, listen: &str) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(self.dir.path()).args([
            "relay",
            "--policy",
            "policy.hujson",
            "--tailnet",
            "tailnet.json",
            "--node",
            node,
            "--key",
            "relay.key",
            "--listen",
            listen,
            "--poll-interval",
            "100ms",
        ]);
        c
    }

    /// `ping` from `a` (the requester) to `b` through `relay`.
    fn ping(&self, relay: &Relay, a: &str, b: &str) -> assert_cmd::assert::Assert {
        tailgrant()
            .current_dir(self.dir.path())
            .args(["ping", "--relay", &relay.addr, "--relay-key", &relay.key])
            .args(["--key-a", a, "--key-b", b, "--count", "3"])
            .args(["--timeout", "1s", "--attempts", "2"])
            .args(["--policy", "policy.hujson", "--tailnet", "tailnet.json"])
            .args(["--node", "relay"])
            .timeout(Duration::from_secs(20))
            .assert()
    }
}

/// A running `tailgrant relay`, killed when dropped.
struct Relay {
    child: Child,
    addr: String,
    key: String,
    log: Arc<Mutex<String>>,
    /// The lines of standard output after the listening addresses.
    stdout: mpsc::Receiver<String>,
}

impl Relay {
    fn start(setup: &Setup) -> Self {
        Self::spawn(setup.relay_command())
    }

    fn spawn(mut command: Command) -> Self {
        let mut child = command
            .env("TAILGRANT_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (mut addr, mut key) = (None, None);
        while addr.is_none() || key.is_none() {
            let line = rx.recv_timeout(Duration::from_secs(20));
            assert!(line.is_ok(), "relay did not start: {}", log.lock().unwrap());
            let line = line.unwrap();
            if let Some(a) = line.strip_prefix("relay listening on ") {
                addr = Some(a.to_owned());
            } else if let Some(k) = line.strip_prefix("relay key ") {
                key = Some(k.to_owned());
            }
        }
        Self {
            child,
            addr: addr.unwrap(),
            key: key.unwrap(),
            log,
            stdout: rx,
        }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name} failed");
    }

    /// Waits until the log holds `needle` `times` times.
    fn wait_log(&self, needle: &str, times: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.log.lock().unwrap().clone();
            if log.matches(needle).count() >= times {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in the relay log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The metrics address it printed (started with `--metrics`).
    fn metrics_addr(&self) -> String {
        loop {
            let line = self.stdout.recv_timeout(Duration::from_secs(20));
            assert!(
                line.is_ok(),
                "no metrics address: {}",
                self.log.lock().unwrap()
            );
            if let Some(a) = line.unwrap().strip_prefix("metrics listening on ") {
                return a.to_owned();
            }
        }
    }

    /// Sends SIGTERM and waits for a clean exit.
    fn stop(mut self) {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "relay exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "relay did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stdout_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

#[test]
fn keygen_writes_an_owner_only_key_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let public = keygen(dir.path(), "k.key");
    assert!(public.starts_with("discokey:"), "{public}");
    assert_eq!(public.len(), "discokey:".len() + 64);
    let file = dir.path().join("k.key");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("privkey:") && text.ends_with('\n'),
        "{text}"
    );
    assert_eq!(text.trim().len(), "privkey:".len() + 64);

    tailgrant()
        .args(["keygen", "-o"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("exists: pass --force"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let again = tailgrant()
        .args(["keygen", "--force", "-o"])
        .arg(&file)
        .assert()
        .code(0);
    assert_ne!(stdout_of(&again).trim(), public);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let replaced = std::fs::read_to_string(&file).unwrap();
    assert!(
        replaced.starts_with("privkey:") && replaced != text,
        "{replaced}"
    );
    // Replaced through a temporary file renamed over it: nothing else is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["k.key"]);
}

#[test]
fn relay_refuses_to_start_without_a_valid_policy() {
    let setup = Setup::new();
    std::fs::write(setup.path("policy.hujson"), BROKEN).unwrap();
    let out = setup.relay_command().stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refusing to start the relay"), "{stderr}");
    assert!(
        stdout.contains("ip and app can not both be empty"),
        "{stdout}"
    );
}

#[test]
fn a_second_relay_on_the_same_port_refuses_to_start() {
    let setup = Setup::new();
    let first = Relay::start(&setup);
    let out = setup
        .relay_command_on("relay", &first.addr)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "udp port {} is already in use by another process",
            first.addr
        )),
        "{stderr}"
    );
    // The first relay still serves alone.
    let ok = setup.ping(&first, "laptop.key", "phone.key").code(0);
    assert!(stdout_of(&ok).contains("3/3 round trips, 0 lost"));
    first.stop();
}

#[test]
fn relay_refuses_an_unknown_node_and_a_bad_key_file() {
    let setup = Setup::new();
    let out = setup.relay_command_for("nope").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("relay node `nope` is not in the tailnet")
    );

    std::fs::write(setup.path("relay.key"), "discokey:00").unwrap();
    let out = setup.relay_command().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a disco private key"));
}

#[test]
fn ping_through_the_relay_then_reloads_keep_or_revoke() {
    let setup = Setup::new();
    let relay = Relay::start(&setup);

    // Allowed: laptop holds the relay grant.
    let ok = setup.ping(&relay, "laptop.key", "phone.key").code(0);
    let out = stdout_of(&ok);
    assert!(out.contains("3/3 round trips, 0 lost"), "{out}");
    assert!(out.contains("median"), "{out}");

    // Forbidden: phone has no grant; the relay drops it silently, the policy says why.
    let denied = setup.ping(&relay, "phone.key", "laptop.key").code(1);
    let out = stdout_of(&denied);
    assert!(out.contains("no answer to the allocation request"), "{out}");
    assert!(
        out.contains(
            "denied by policy: `phone` has no `tailscale.com/cap/relay` grant towards this \
             relay, grants considered at policy.hujson:6"
        ),
        "{out}"
    );

    // A broken file (seen by the poll) keeps the last good table: traffic flows on.
    std::fs::write(setup.path("policy.hujson"), BROKEN).unwrap();
    relay.wait_log("reload failed, the last good policy stays", 1);
    relay.wait_log("ip and app can not both be empty", 1);
    let out = stdout_of(&setup.ping(&relay, "laptop.key", "phone.key").code(0));
    assert!(out.contains("3/3 round trips, 0 lost"), "{out}");

    // A policy that revokes laptop, applied on SIGHUP: laptop's endpoint is closed.
    std::fs::write(setup.path("policy.hujson"), ALLOW_BOB).unwrap();
    relay.signal("HUP");
    relay.wait_log("endpoint closed by policy reload", 1);
    relay.wait_log("policy reloaded", 1);
    let revoked = setup.ping(&relay, "laptop.key", "phone.key").code(1);
    assert!(stdout_of(&revoked).contains("denied by policy: `laptop`"));
    // ... and phone may now allocate.
    let out = stdout_of(&setup.ping(&relay, "phone.key", "laptop.key").code(0));
    assert!(out.contains("3/3 round trips, 0 lost"), "{out}");

    relay.stop();
}

/// The three commands of the README ("Peer-relay daemon"), on the demo files (the relay's key comes from the
/// tailnet file).
#[test]
fn the_demo_in_the_docs_works() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/relay-demo");
    let mut command = Command::new(BIN);
    command.current_dir(&demo).args([
        "relay",
        "--policy",
        "policy.hujson",
        "--tailnet",
        "tailnet.json",
        "--node",
        "relay",
        "--key",
        "relay.key",
        "--listen",
        "127.0.0.1:0",
    ]);
    let relay = Relay::spawn(command);
    let ok = tailgrant()
        .current_dir(&demo)
        .args(["ping", "--relay", &relay.addr, "--tailnet", "tailnet.json"])
        .args(["--node", "relay", "--policy", "policy.hujson"])
        .args(["--key-a", "laptop.key", "--key-b", "phone.key"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(0);
    let out = stdout_of(&ok);
    assert!(out.contains("5/5 round trips, 0 lost"), "{out}");
    relay.stop();
}

/// `GET path` on the metrics server: the status line and the body.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// A FIFO at `--policy` used to wedge the reload task for good (later reloads never
/// applied, `/readyz` answering for a policy it no longer watched, SIGTERM ignored).
#[test]
fn a_fifo_at_the_policy_path_keeps_the_last_good_policy_and_sigterm_still_stops_the_relay() {
    let setup = Setup::new();
    let mut command = setup.relay_command();
    command.args(["--metrics", "127.0.0.1:0"]);
    let relay = Relay::spawn(command);
    let metrics = relay.metrics_addr();

    let path = setup.path("policy.hujson");
    std::fs::remove_file(&path).unwrap();
    let made = Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(made.success(), "mkfifo failed");
    relay.signal("HUP");
    relay.wait_log("not a regular file (a FIFO)", 1);
    relay.wait_log("reload failed, the last good policy stays", 1);

    // The last good policy serves on, and says so.
    let ready = http_get(&metrics, "/readyz");
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    let text = http_get(&metrics, "/metrics");
    assert!(
        text.contains("tailgrant_relay_policy_generation 1"),
        "{text}"
    );
    assert!(
        text.contains("tailgrant_relay_policy_reloads_total{reason=\"failed\"}"),
        "{text}"
    );
    let out = stdout_of(&setup.ping(&relay, "laptop.key", "phone.key").code(0));
    assert!(out.contains("3/3 round trips, 0 lost"), "{out}");

    // A regular file again: applied.
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, ALLOW_BOB).unwrap();
    relay.signal("HUP");
    relay.wait_log("policy reloaded", 1);
    relay.stop();
}

/// Every refused allocation used to write a log line: a flood of refused requests from a
/// known node became a flood of log.
#[test]
fn a_flood_of_refused_allocations_writes_a_bounded_number_of_log_lines() {
    use tailgrant::relay::client::RelayClient;
    use tailgrant::relay::keys::{parse_public, DiscoKeyPair};

    let setup = Setup::new();
    let mut command = setup.relay_command();
    command.args(["--refusal-summary-interval", "2s"]);
    let relay = Relay::spawn(command);
    relay.wait_log("relay serving", 1);
    let before = relay.log.lock().unwrap().lines().count();

    // phone holds no relay grant: denied, and past its burst rate-limited too.
    let phone = std::fs::read_to_string(setup.path("phone.key")).unwrap();
    let phone = DiscoKeyPair::from_private_text(phone.trim()).unwrap();
    let laptop = *DiscoKeyPair::from_secret_bytes([7; 32]).public();
    let relay_key = parse_public(&relay.key).unwrap();
    let mut client = RelayClient::new(phone, rand::SeedableRng::seed_from_u64(1));
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    const FLOOD: usize = 3_000;
    for i in 0..FLOOD {
        let request = client.allocate_request(&relay_key, &laptop, 1);
        socket.send_to(&request, &relay.addr).unwrap();
        if i % 100 == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    relay.wait_log("allocation refusals in the last period", 1);
    let log = relay.log.lock().unwrap().clone();
    // The flood may span several periods on a busy machine: per period, one line per
    // reason, then the summary.
    let periods = log
        .matches("allocation refusals in the last period")
        .count()
        + 1;
    let new_lines = log.lines().count() - before;
    assert!(log.matches("allocation denied").count() <= periods, "{log}");
    assert!(
        log.matches("allocation refused").count() <= periods,
        "{log}"
    );
    assert!(log.contains("denied/no_relay_grant="), "{log}");
    assert!(log.contains("refused/rate_limited="), "{log}");
    assert!(
        new_lines <= 3 * periods && periods < 10,
        "{new_lines} lines for {FLOOD} refusals:\n{log}"
    );
    relay.stop();
}
