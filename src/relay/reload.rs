//! Policy reload for a running relay: the policy and tailnet files are watched (polled, and
//! re-read on SIGHUP or on a [`ReloadTrigger`]), read under a size limit and a time limit,
//! validated (without the lints), compiled beside the running policy and swapped in; the
//! endpoints that the new policy no longer allows are closed.
//!
//! Invariants:
//! - **Never fail open.** A file that cannot be read, is not UTF-8, does not validate or does
//!   not compile keeps the last good policy; the failure is counted
//!   (`tailgrant_relay_policy_reloads_total{reason="failed"}`), logged with every error at
//!   its line and column, and published as [`ReloadEvent::Failed`].
//! - **Nothing blocks the relay.** The `stat` calls, the reads and the compile run on
//!   tokio's blocking pool; a read that outlives [`ReloadOptions::read_timeout`] (a hung
//!   network file system) counts as a failed reload and no other read starts until it
//!   returns. A SIGHUP that meets such a read is not lost: the next read is forced too.
//! - **Each policy is applied once.** The swap and the revocation go through
//!   [`RelayHandle::apply_policy`], which also counts the successful reload.
//!
//! An embedder gets all of this in a few lines:
//!
//! ```no_run
//! use tailgrant::relay::daemon::{BoundRelay, Options};
//! use tailgrant::relay::keys::DiscoKeyPair;
//! use tailgrant::relay::policy::shared;
//! use tailgrant::relay::reload::{PolicyFiles, ReloadOptions, Reloader};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let files = PolicyFiles::new("policy.hujson", "tailnet.json", "relay-1");
//! // The first load refuses to start on a bad policy, as every later one refuses to swap.
//! let first = files.load_first()?;
//! let policy = shared(first.policy);
//! let keys = DiscoKeyPair::from_secret_bytes([1; 32]);
//! let relay = BoundRelay::bind(Options::default(), keys, policy.clone()).await?;
//! let reloader = Reloader::new(files, first.stamp, policy, relay.handle(), ReloadOptions::default());
//! let reload_now = reloader.trigger(); // `reload_now.reload()` does what SIGHUP does
//! tokio::spawn(reloader.run());
//! relay.serve(std::future::pending()).await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{watch, Notify};

use super::daemon::RelayHandle;
use super::policy::{LoadedPolicy, SharedPolicy};
use super::table_policy::{input_hash, TablePolicy, TablePolicyError};
use crate::diagnostic::Findings;
use crate::fsutil::{read_bounded, DEFAULT_MAX_INPUT};
use crate::model::tailnet::Tailnet;
use crate::model::Dialect;
use crate::span::LineIndex;

/// Reads one watched file, whole. The default is [`read_bounded`] (a FIFO, device or
/// directory is refused at once, and so is a file over the size limit).
pub(crate) type ReadFile = dyn Fn(&Path) -> Result<Vec<u8>, String> + Send + Sync;

/// The policy file and the tailnet file of one relay node, and how they are read.
pub struct PolicyFiles {
    policy: PathBuf,
    tailnet: PathBuf,
    node: String,
    dialect: Dialect,
    read_file: Box<ReadFile>,
}

impl fmt::Debug for PolicyFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyFiles")
            .field("policy", &self.policy)
            .field("tailnet", &self.tailnet)
            .field("node", &self.node)
            .field("dialect", &self.dialect)
            .finish_non_exhaustive()
    }
}

/// Modification time and length of the policy and the tailnet file, when they can be looked
/// up: a cheap change detector (the content hash then decides whether anything changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilesStamp([Option<(SystemTime, u64)>; 2]);

/// The texts of the policy and the tailnet file, read at one reload.
struct Inputs {
    policy: String,
    tailnet: String,
}

/// The first load: the policy to start with, the tailnet it was compiled against (for the
/// relay node's settings: listen port, static endpoints), and the files' stamp taken before
/// they were read (so a change made during the read is seen by the first poll).
#[derive(Debug)]
pub struct FirstLoad {
    /// The compiled policy, generation 1.
    pub policy: LoadedPolicy,
    /// The tailnet file as parsed for it.
    pub tailnet: Tailnet,
    /// Where the reload loop starts watching from.
    pub stamp: FilesStamp,
}

/// A load that failed; the last good policy stays.
#[derive(Debug)]
pub struct LoadFailure {
    message: String,
    /// The hash of the inputs, when both files could be read.
    hash: Option<String>,
    /// The policy's path, text and findings, when the policy itself is at fault.
    findings: Option<(PathBuf, String, Findings)>,
}

impl LoadFailure {
    fn unreadable(message: String) -> Self {
        Self {
            message,
            hash: None,
            findings: None,
        }
    }

    /// What went wrong, naming the file.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The policy's text and its findings, when the policy does not validate.
    pub fn findings(&self) -> Option<(&str, &Findings)> {
        self.findings
            .as_ref()
            .map(|(_, text, f)| (text.as_str(), f))
    }

    /// [`findings`](Self::findings), owned.
    pub fn into_findings(self) -> Option<(String, Findings)> {
        self.findings.map(|(_, text, f)| (text, f))
    }

    /// One line per error, `file:line:column: message`, for logs.
    pub(crate) fn lines(&self) -> Vec<String> {
        let Some((path, text, findings)) = &self.findings else {
            return Vec::new();
        };
        let index = LineIndex::new(text);
        findings
            .errors
            .iter()
            .map(|d| {
                let (line, column) = index.position(text, d.span.start);
                format!("{}:{line}:{column}: {}", path.display(), d.message)
            })
            .collect()
    }
}

impl fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LoadFailure {}

impl PolicyFiles {
    /// The policy file, the tailnet file and the relay's node in it, read with
    /// [`read_bounded`] up to [`DEFAULT_MAX_INPUT`] bytes each.
    pub fn new(
        policy: impl Into<PathBuf>,
        tailnet: impl Into<PathBuf>,
        node: impl Into<String>,
    ) -> Self {
        Self {
            policy: policy.into(),
            tailnet: tailnet.into(),
            node: node.into(),
            dialect: Dialect::Tailscale,
            read_file: Box::new(|path| {
                read_bounded(path, DEFAULT_MAX_INPUT).map_err(|e| e.to_string())
            }),
        }
    }

    /// Checks the policy by `dialect`'s rules (Tailscale's by default) at every load.
    pub fn with_dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    /// The dialect whose rules every load checks the policy by.
    pub const fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Reads each file up to `limit` bytes instead of [`DEFAULT_MAX_INPUT`].
    pub fn max_input(self, limit: u64) -> Self {
        self.read_with(move |path| read_bounded(path, limit).map_err(|e| e.to_string()))
    }

    /// Reads the files with `read` (it must return in bounded time for the reload's read
    /// timeout to be its only wait).
    pub fn read_with(
        mut self,
        read: impl Fn(&Path) -> Result<Vec<u8>, String> + Send + Sync + 'static,
    ) -> Self {
        self.read_file = Box::new(read);
        self
    }

    /// The policy file.
    pub fn policy_path(&self) -> &Path {
        &self.policy
    }

    /// The tailnet file.
    pub fn tailnet_path(&self) -> &Path {
        &self.tailnet
    }

    /// The relay's node in the tailnet file.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Takes the stamp, then reads and compiles both files as generation 1.
    pub fn load_first(&self) -> Result<FirstLoad, LoadFailure> {
        let stamp = self.stamp();
        let (policy, tailnet) = self.compile(self.read_inputs()?, 1, &[])?.ok_or_else(|| {
            LoadFailure::unreadable("internal: the first load was skipped".into())
        })?;
        Ok(FirstLoad {
            policy,
            tailnet,
            stamp,
        })
    }

    /// Modification time and length of both files.
    pub(crate) fn stamp(&self) -> FilesStamp {
        FilesStamp([&self.policy, &self.tailnet].map(|p| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.modified().ok()?, m.len()))
        }))
    }

    fn read(&self, path: &Path) -> Result<String, LoadFailure> {
        let bytes = (self.read_file)(path).map_err(LoadFailure::unreadable)?;
        String::from_utf8(bytes)
            .map_err(|_| LoadFailure::unreadable(format!("{}: not UTF-8", path.display())))
    }

    fn read_inputs(&self) -> Result<Inputs, LoadFailure> {
        Ok(Inputs {
            policy: self.read(&self.policy)?,
            tailnet: self.read(&self.tailnet)?,
        })
    }

    /// Compiles what [`read_inputs`](Self::read_inputs) read; `Ok(None)` when the inputs'
    /// hash is one of `skip`. The tailnet returned is the one the policy was compiled
    /// against (parsed once).
    fn compile(
        &self,
        inputs: Inputs,
        generation: u64,
        skip: &[&str],
    ) -> Result<Option<(LoadedPolicy, Tailnet)>, LoadFailure> {
        let Inputs { policy, tailnet } = inputs;
        let hash = input_hash(policy.as_bytes(), tailnet.as_bytes());
        if skip.contains(&hash.as_str()) {
            return Ok(None);
        }
        let (message, findings) = match TablePolicy::load_with_tailnet(
            &policy,
            &tailnet,
            &self.node,
            generation,
            self.dialect,
        ) {
            Ok(loaded) => return Ok(Some(loaded)),
            Err(TablePolicyError::InvalidPolicy { findings }) => (
                format!("{}: the policy is not valid", self.policy.display()),
                Some((self.policy.clone(), policy, findings)),
            ),
            Err(e) => (format!("{}: {e}", self.tailnet.display()), None),
        };
        Err(LoadFailure {
            message,
            hash: Some(hash),
            findings,
        })
    }
}

/// How the reload loop runs.
#[derive(Debug, Clone, Copy)]
pub struct ReloadOptions {
    /// How often the files' modification times are looked at (at least 10 ms).
    pub poll: Duration,
    /// How long a read of both files may take before the reload counts as failed.
    pub read_timeout: Duration,
    /// Whether SIGHUP forces a reload (Unix; registered by [`Reloader::new`], which
    /// then must run inside a tokio runtime).
    pub sighup: bool,
}

impl Default for ReloadOptions {
    /// Poll every second, give a read 5 s, reload on SIGHUP.
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(1),
            read_timeout: Duration::from_secs(5),
            sighup: true,
        }
    }
}

/// What the last reload attempt did (an unchanged poll is none).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReloadEvent {
    /// No reload has been tried since the loop started.
    Started {
        /// The generation of the running policy.
        generation: u64,
    },
    /// A new policy is running.
    Applied {
        /// Its generation.
        generation: u64,
        /// The hash of its inputs.
        hash: String,
        /// Endpoints it closed (0 when the maintenance task applied it first).
        closed: usize,
        /// Whether SIGHUP or a [`ReloadTrigger`] asked for it.
        forced: bool,
    },
    /// The reload failed; the last good policy stays.
    Failed {
        /// The generation that stays.
        generation: u64,
        /// Why, naming the file.
        message: String,
        /// Each error of the policy at its place, `file:line:column: message`.
        lines: Vec<String>,
    },
}

/// Forces a reload, as SIGHUP does (cheap to clone). Requests made while one is pending
/// count once.
#[derive(Debug, Clone)]
pub struct ReloadTrigger(Arc<Notify>);

impl ReloadTrigger {
    /// Asks the reload loop to read both files now, even when their stamps did not change,
    /// and to try again a file that failed before.
    pub fn reload(&self) {
        self.0.notify_one();
    }
}

/// The reload loop of one relay; [`run`](Self::run) it as a task.
pub struct Reloader {
    files: Arc<PolicyFiles>,
    stamp: FilesStamp,
    policy: SharedPolicy,
    relay: RelayHandle,
    options: ReloadOptions,
    trigger: Arc<Notify>,
    events: watch::Sender<ReloadEvent>,
    #[cfg(unix)]
    sighup: Option<tokio::signal::unix::Signal>,
}

/// What a read job found: the files' stamp, and their texts when they were read.
type ReadOutcome = (FilesStamp, Option<Result<Inputs, LoadFailure>>);

impl Reloader {
    /// A reload loop for the relay behind `relay`, which serves `policy`, watching `files`
    /// from `stamp` on (a [`FirstLoad::stamp`]).
    pub fn new(
        files: PolicyFiles,
        stamp: FilesStamp,
        policy: SharedPolicy,
        relay: RelayHandle,
        options: ReloadOptions,
    ) -> Self {
        let generation = policy.load().generation;
        Self {
            files: Arc::new(files),
            stamp,
            policy,
            relay,
            options,
            trigger: Arc::new(Notify::new()),
            events: watch::Sender::new(ReloadEvent::Started { generation }),
            #[cfg(unix)]
            sighup: options.sighup.then(hangup_signal).flatten(),
        }
    }

    /// A handle that forces a reload.
    pub fn trigger(&self) -> ReloadTrigger {
        ReloadTrigger(self.trigger.clone())
    }

    /// The last reload attempt, updated as they happen.
    pub fn events(&self) -> watch::Receiver<ReloadEvent> {
        self.events.subscribe()
    }

    /// Waits for SIGHUP or a trigger (`true`) or the next poll (`false`).
    async fn next(&mut self, tick: &mut tokio::time::Interval) -> bool {
        #[cfg(unix)]
        let sighup = &mut self.sighup;
        #[cfg(unix)]
        let hangup = async {
            if let Some(s) = sighup {
                if s.recv().await.is_some() {
                    return;
                }
            }
            std::future::pending::<()>().await;
        };
        #[cfg(not(unix))]
        let hangup = std::future::pending::<()>();
        tokio::select! {
            () = hangup => true,
            () = self.trigger.notified() => true,
            _ = tick.tick() => false,
        }
    }

    fn failed(&self, message: String, lines: Vec<String>) {
        self.relay.metrics().reload(false);
        let generation = self.policy.load().generation;
        self.events.send_replace(ReloadEvent::Failed {
            generation,
            message,
            lines,
        });
    }

    /// Reloads on SIGHUP, on a trigger and when a file's modification time or length
    /// changes; never returns (abort the task to stop it).
    ///
    /// Polling, not inotify: configuration management and Kubernetes ConfigMaps replace
    /// files by renaming or by swapping a symlink, which a watch on the file misses (and a
    /// watch on the directory must then filter); two `stat` calls a second cost nothing,
    /// work on every platform and file system (NFS included), and need no extra
    /// dependency.
    pub async fn run(mut self) {
        let files = self.files.clone();
        let mut tick = tokio::time::interval(self.options.poll.max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The hash of the last inputs tried, good or bad, so an unchanged broken file is
        // not logged every second.
        let mut last_tried = self.policy.load().hash.clone();
        // A read that outlived its timeout, with when it started.
        let mut stalled: Option<(tokio::task::JoinHandle<ReadOutcome>, Instant)> = None;
        // A forced reload that met a stalled read: the next read is forced too.
        let mut pending_force = false;
        loop {
            let asked = self.next(&mut tick).await;
            let forced = asked || pending_force;
            if let Some((job, since)) = &stalled {
                if !job.is_finished() {
                    pending_force |= asked;
                    if asked {
                        let message = format!(
                            "the read of the policy files started {:.1?} ago has not returned",
                            since.elapsed()
                        );
                        tracing::error!("reload failed, the last good policy stays: {message}");
                        self.failed(message, Vec::new());
                    }
                    continue;
                }
                // Its result is stale: this tick reads again.
                stalled = None;
            }
            pending_force = false;
            let src = files.clone();
            let previous = self.stamp;
            let mut job = tokio::task::spawn_blocking(move || {
                let now = src.stamp();
                let changed = forced || now != previous;
                (now, changed.then(|| src.read_inputs()))
            });
            let read = match tokio::time::timeout(self.options.read_timeout, &mut job).await {
                Ok(Ok((now, read))) => {
                    self.stamp = now;
                    read
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "reload task failed, the last good policy stays");
                    self.failed(format!("the reload task failed: {e}"), Vec::new());
                    continue;
                }
                Err(_) => {
                    let message = format!(
                        "reading {} and {} took longer than {:?} (a hung file system?)",
                        files.policy.display(),
                        files.tailnet.display(),
                        self.options.read_timeout
                    );
                    tracing::error!("reload failed, the last good policy stays: {message}");
                    self.failed(message, Vec::new());
                    stalled = Some((job, Instant::now()));
                    // A forced read that stalled is forced again once the file system
                    // answers.
                    pending_force = forced;
                    continue;
                }
            };
            let Some(read) = read else {
                continue;
            };
            let current = self.policy.load_full();
            let generation = current.generation + 1;
            // Inputs equal to the loaded policy's are never recompiled; a file that failed
            // is tried again, and its diagnostics logged again, only when forced.
            let mut skip = vec![current.hash.clone()];
            if !forced {
                skip.push(last_tried.clone());
            }
            let src = files.clone();
            let outcome = match read {
                Ok(inputs) => tokio::task::spawn_blocking(move || {
                    let skip: Vec<&str> = skip.iter().map(String::as_str).collect();
                    src.compile(inputs, generation, &skip)
                })
                .await
                .map_err(|e| e.to_string()),
                Err(failure) => Ok(Err(failure)),
            };
            match outcome {
                Ok(Ok(None)) => {
                    tracing::debug!(forced, "policy inputs unchanged");
                }
                Ok(Ok(Some((loaded, _tailnet)))) => {
                    last_tried = loaded.hash.clone();
                    let hash = loaded.hash.clone();
                    self.policy.store(Arc::new(loaded));
                    // Revokes and counts the successful reload, once per policy.
                    let closed = self.relay.apply_policy();
                    tracing::info!(generation, %hash, closed, forced, "policy reloaded");
                    self.events.send_replace(ReloadEvent::Applied {
                        generation,
                        hash,
                        closed,
                        forced,
                    });
                }
                Ok(Err(failure)) => {
                    if let Some(hash) = &failure.hash {
                        last_tried.clone_from(hash);
                    }
                    let lines = failure.lines();
                    for line in &lines {
                        tracing::error!("{line}");
                    }
                    tracing::error!(
                        generation = current.generation,
                        "reload failed, the last good policy stays: {}",
                        failure.message
                    );
                    self.failed(failure.message, lines);
                }
                Err(e) => {
                    tracing::error!(error = %e, "reload task failed, the last good policy stays");
                    self.failed(format!("the reload task failed: {e}"), Vec::new());
                }
            }
        }
    }
}

/// The SIGHUP stream, when there is a tokio runtime to register it with.
#[cfg(unix)]
fn hangup_signal() -> Option<tokio::signal::unix::Signal> {
    tokio::runtime::Handle::try_current().ok()?;
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}

#[cfg(test)]
#[path = "reload_tests.rs"]
mod tests;
