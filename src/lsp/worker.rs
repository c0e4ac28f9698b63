//! The diagnostics worker: checks documents off the main loop, debounced, and drops the
//! results an edit has overtaken.
//!
//! Each edit gives its document a new generation. The worker waits until no edit has come
//! for the debounce time, keeps the newest job of each document, checks it, and publishes
//! only if the document's generation has not moved on meanwhile (an edit during the check,
//! or a close).

use super::engine;
use super::position::{Encoding, Lines};
use crate::diagnostic::{Diagnostic, Severity};
use crate::model::tailnet::Tailnet;
use crate::span::Span;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use lsp_server::{Message, Notification};
use lsp_types::notification::{Notification as _, PublishDiagnostics};
use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    PublishDiagnosticsParams, Uri,
};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The policy beside an assertions file.
pub(crate) struct PolicyFile {
    /// Its URI.
    pub(crate) uri: Uri,
    /// Its path, for help text.
    pub(crate) name: String,
    /// Its text.
    pub(crate) text: Arc<str>,
    /// The tailnet.
    pub(crate) tailnet: Arc<Tailnet>,
    /// The rules it is checked by.
    pub(crate) dialect: crate::model::Dialect,
}

/// What to check.
pub(crate) enum Input {
    /// A policy file.
    Policy {
        /// The text.
        text: Arc<str>,
        /// The tailnet, when one is configured or found.
        tailnet: Option<Arc<Tailnet>>,
        /// Lint codes not shown.
        allow: Arc<[String]>,
        /// The rules it is checked by.
        dialect: crate::model::Dialect,
    },
    /// A `NAME.tests.hujson` assertions file.
    Assertions {
        /// The text.
        text: Arc<str>,
        /// The policy and tailnet to run it against, or why there are none.
        policy: Result<PolicyFile, String>,
    },
}

struct Job {
    uri: Uri,
    version: i32,
    generation: u64,
    encoding: Encoding,
    input: Input,
}

type Generations = Arc<Mutex<HashMap<Uri, u64>>>;

fn current(generations: &Generations, uri: &Uri) -> Option<u64> {
    generations
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(uri)
        .copied()
}

/// The main loop's side: submits jobs.
pub(crate) struct Jobs {
    tx: Option<Sender<Job>>,
    generations: Generations,
    next: u64,
}

impl Jobs {
    /// Schedules a check of `uri` at `version`; earlier jobs of `uri` become stale.
    pub(crate) fn submit(&mut self, uri: Uri, version: i32, encoding: Encoding, input: Input) {
        self.next += 1;
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(uri.clone(), self.next);
        if let Some(tx) = &self.tx {
            let _ = tx.send(Job {
                uri,
                version,
                generation: self.next,
                encoding,
                input,
            });
        }
    }

    /// Makes every job of `uri` stale (the document was closed).
    pub(crate) fn forget(&mut self, uri: &Uri) {
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(uri);
    }
}

impl Drop for Jobs {
    fn drop(&mut self) {
        self.tx = None;
    }
}

/// The most checks' leftovers waiting to be freed.
const FREE_QUEUE: usize = 2;

/// The worker thread.
pub(crate) struct Worker {
    handle: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the worker; it publishes through `out`.
    pub(crate) fn start(out: Sender<Message>, debounce: Duration) -> (Self, Jobs) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let generations = Generations::default();
        let shared = generations.clone();
        let handle = std::thread::Builder::new()
            .name("tailgrant-lsp-check".into())
            .spawn(move || {
                // What a check leaves behind is freed on a thread of its own, beside the next
                // check rather than before it; if that thread cannot start, here.
                let (free_tx, free_rx) = crossbeam_channel::bounded::<engine::Spent>(FREE_QUEUE);
                let freer = std::thread::Builder::new()
                    .name("tailgrant-lsp-free".into())
                    .spawn(move || free_rx.iter().for_each(drop))
                    .ok();
                let free = freer.is_some().then_some(free_tx);
                run(&rx, &out, &shared, debounce, free.as_ref());
                drop(free);
                if let Some(freer) = freer {
                    let _ = freer.join();
                }
            })
            .ok();
        let jobs = Jobs {
            tx: Some(tx),
            generations,
            next: 0,
        };
        (Self { handle }, jobs)
    }

    /// Waits for the worker to finish (after the [`Jobs`] are dropped).
    pub(crate) fn join(mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn run(
    rx: &Receiver<Job>,
    out: &Sender<Message>,
    generations: &Generations,
    debounce: Duration,
    free: Option<&Sender<engine::Spent>>,
) {
    while let Ok(first) = rx.recv() {
        let mut pending: Vec<Job> = vec![first];
        // Debounce: keep collecting while edits keep coming.
        loop {
            match rx.recv_timeout(debounce) {
                Ok(job) => pending.push(job),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        for job in pending {
            if current(generations, &job.uri) != Some(job.generation) {
                continue;
            }
            // A bug in a check must not end the worker (and with it every later diagnostic):
            // it is reported on the document instead, never as a clean result.
            let (diagnostics, spent) =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| diagnose(&job)))
                    .unwrap_or_else(|_| (vec![internal_error(job.encoding)], None));
            if current(generations, &job.uri) != Some(job.generation) {
                continue;
            }
            if out
                .send(publish(&job.uri, diagnostics, Some(job.version)))
                .is_err()
            {
                return;
            }
            // Freed after the findings are on their way, not before.
            if let (Some(free), Some(spent)) = (free, spent) {
                // When the freeing thread is behind (or gone), the value is dropped here:
                // what waits to be freed stays bounded.
                let _ = free.try_send(spent);
            }
        }
    }
}

/// The `publishDiagnostics` notification of `uri`.
pub(crate) fn publish(
    uri: &Uri,
    diagnostics: Vec<lsp_types::Diagnostic>,
    version: Option<i32>,
) -> Message {
    Notification::new(
        PublishDiagnostics::METHOD.to_string(),
        PublishDiagnosticsParams {
            uri: uri.clone(),
            diagnostics,
            version,
        },
    )
    .into()
}

/// The diagnostics of a job, and what its check left to free.
fn diagnose(job: &Job) -> (Vec<lsp_types::Diagnostic>, Option<engine::Spent>) {
    match &job.input {
        Input::Policy {
            text,
            tailnet,
            allow,
            dialect,
        } => {
            if let Some(d) = too_large(text, job.encoding) {
                return (vec![d], None);
            }
            let lines = Lines::new(text, job.encoding);
            let (found, spent) = engine::check_policy(text, tailnet.as_deref(), allow, *dialect);
            let diagnostics = found
                .iter()
                .map(|d| to_lsp(d, &job.uri, text, &lines))
                .collect();
            (diagnostics, spent)
        }
        Input::Assertions { text, policy } => (diagnose_assertions(job, text, policy), None),
    }
}

/// The diagnostics of an assertions file.
fn diagnose_assertions(
    job: &Job,
    text: &str,
    policy: &Result<PolicyFile, String>,
) -> Vec<lsp_types::Diagnostic> {
    if let Some(d) = too_large(text, job.encoding) {
        return vec![d];
    }
    let lines = Lines::new(text, job.encoding);
    let input = policy
        .as_ref()
        .map(|p| engine::PolicyInput {
            text: &p.text,
            tailnet: &p.tailnet,
            name: &p.name,
            dialect: p.dialect,
        })
        .map_err(Clone::clone);
    let found = match engine::check_assertions(text, input) {
        Ok(found) => found,
        // Never silent: an assertion not run is not one that holds.
        Err(why) => return vec![not_run(job.encoding, &why)],
    };
    let policy = policy.as_ref().ok();
    let policy_lines = policy.map(|p| Lines::new(&p.text, job.encoding));
    found
        .iter()
        .map(|(d, spans)| {
            let mut out = to_lsp(d, &job.uri, text, &lines);
            if let (Some(p), Some(pl)) = (policy, &policy_lines) {
                let extra = spans.iter().map(|s| DiagnosticRelatedInformation {
                    location: Location::new(p.uri.clone(), pl.range(&p.text, *s)),
                    message: "the policy decides it here".to_string(),
                });
                out.related_information
                    .get_or_insert_with(Vec::new)
                    .extend(extra);
            }
            out
        })
        .collect()
}

/// The note on an assertions file whose assertions were not run, and why.
fn not_run(encoding: Encoding, why: &str) -> lsp_types::Diagnostic {
    lsp_types::Diagnostic {
        range: Lines::new("", encoding).range("", Span::new(0, 0)),
        severity: Some(DiagnosticSeverity::INFORMATION),
        source: Some("tailgrant".into()),
        message: format!("the assertions were not run: {why}"),
        ..lsp_types::Diagnostic::default()
    }
}

/// The diagnostic of a check that failed inside tailgrant.
fn internal_error(encoding: Encoding) -> lsp_types::Diagnostic {
    lsp_types::Diagnostic {
        range: Lines::new("", encoding).range("", Span::new(0, 0)),
        severity: Some(DiagnosticSeverity::ERROR),
        source: Some("tailgrant".into()),
        message: "tailgrant failed while checking this text, so its findings are unknown; please report it with the file".into(),
        ..lsp_types::Diagnostic::default()
    }
}

fn too_large(text: &str, encoding: Encoding) -> Option<lsp_types::Diagnostic> {
    (text.len() > super::MAX_DOCUMENT).then(|| {
        let lines = Lines::new("", encoding);
        lsp_types::Diagnostic {
            range: lines.range("", Span::new(0, 0)),
            severity: Some(DiagnosticSeverity::ERROR),
            source: Some("tailgrant".into()),
            message: format!(
                "the document is {} bytes, more than the {} that tailgrant checks: it was not checked",
                text.len(),
                super::MAX_DOCUMENT
            ),
            ..lsp_types::Diagnostic::default()
        }
    })
}

/// A finding as the protocol carries it: the code with a link to its documentation, the
/// message followed by the help, the secondary places as related information.
pub(crate) fn to_lsp(
    d: &Diagnostic,
    uri: &Uri,
    text: &str,
    lines: &Lines,
) -> lsp_types::Diagnostic {
    let message = match &d.help {
        Some(help) => format!("{}\nhelp: {help}", d.message),
        None => d.message.clone(),
    };
    let related: Vec<DiagnosticRelatedInformation> = d
        .related
        .iter()
        .map(|r| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), lines.range(text, r.span)),
            message: r.label.clone(),
        })
        .collect();
    lsp_types::Diagnostic {
        range: lines.range(text, d.span),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.to_string())),
        code_description: Uri::from_str(&engine::code_uri(d.code.id))
            .ok()
            .map(|href| CodeDescription { href }),
        source: Some("tailgrant".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}
