//! `tailgrant lsp` as an editor drives it: the built binary over its standard input and
//! output, on a generated policy of about 10,000 lines.
//!
//! - didChange -> publishDiagnostics: one edit (a tag renamed to an undefined one and back,
//!   so that every edit changes the findings), timed from the notification written to the
//!   diagnostics of that version read back; against `check_text` of the same text in the
//!   same process, with the ratio of the medians printed in the summary;
//! - the server's resident memory (`VmRSS` of `/proc/PID/status`) over 1,000 such edits.
//!
//! The server is started with `debounceMs: 0` (`TG_BENCH_DEBOUNCE_MS` sets another), so the
//! figure is the work of an edit, not the wait an editor's typing gets.
//!
//! `cargo bench --bench lsp -- --warm-up-time 1 --measurement-time 2`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "bench code"
)]

/// The binary's allocator (`src/main.rs`), so that the figures are what `tailgrant` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, Criterion};
use serde_json::{json, Value};
use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use tailgrant::validate::{check_text, Options};

#[path = "common/policy_text.rs"]
mod policy_text;

const LINES: usize = 10_000;
const URI: &str = "file:///bench/policy.hujson";
/// The longest wait for one answer of the server before the bench gives up.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
const MEMORY_EDITS: usize = 1_000;
const SUMMARY_SAMPLES: usize = 101;

/// A running `tailgrant lsp` and the messages it wrote, read on a thread.
struct Server {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
    version: i64,
    /// Where the edited tag starts (line, UTF-16 column) and the two names it alternates.
    edit_at: (usize, usize),
    incremental: bool,
    text: String,
}

impl Server {
    fn start(text: String) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tailgrant"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("tailgrant lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        let edit_at = text
            .lines()
            .enumerate()
            .find_map(|(i, l)| {
                l.find("\"dst\": [\"tag:t0\"]")
                    .map(|c| (i, c + "\"dst\": [\"".len()))
            })
            .expect("the generated policy has a grant to tag:t0");
        let mut server = Server {
            child,
            stdin,
            messages,
            next_id: 0,
            version: 1,
            edit_at,
            incremental: false,
            text,
        };
        let debounce: u64 = std::env::var("TG_BENCH_DEBOUNCE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let init = server.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": null,
                "capabilities": {},
                "initializationOptions": {"debounceMs": debounce},
            }),
        );
        let sync = &init["capabilities"]["textDocumentSync"];
        let kind = sync.get("change").unwrap_or(sync);
        server.incremental = kind == 2;
        server.notify("initialized", json!({}));
        let text = server.text.clone();
        server.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": URI, "languageId": "hujson", "version": 1, "text": text}}),
        );
        server.wait_diagnostics(1);
        server
    }

    fn write(&mut self, message: &Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.write(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn next(&self) -> Value {
        match self.messages.recv_timeout(REPLY_TIMEOUT) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => {
                panic!("tailgrant lsp did not answer in {REPLY_TIMEOUT:?}")
            }
            Err(RecvTimeoutError::Disconnected) => panic!("tailgrant lsp closed its output"),
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.write(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let m = self.next();
            if m["id"] == id && m.get("method").is_none() {
                if let Some(e) = m.get("error") {
                    panic!("{method}: {e}");
                }
                return m["result"].clone();
            }
        }
    }

    /// Reads messages up to the diagnostics of `version` (or, from a server that publishes
    /// no version, the next diagnostics); returns how many there are.
    fn wait_diagnostics(&self, version: i64) -> usize {
        loop {
            let m = self.next();
            if m["method"] != "textDocument/publishDiagnostics" || m["params"]["uri"] != URI {
                continue;
            }
            let published = m["params"]["version"].as_i64();
            if published.is_none_or(|v| v >= version) {
                return m["params"]["diagnostics"].as_array().map_or(0, Vec::len);
            }
        }
    }

    /// One edit: the tag `tag:t0` of a grant becomes `tag:u0` (undefined: one more finding)
    /// or back; returns the number of findings published for it.
    fn edit(&mut self) -> usize {
        self.version += 1;
        let (line, column) = self.edit_at;
        let name = if self.version % 2 == 0 { "u" } else { "t" };
        let at = column + "tag:".len();
        let change = if self.incremental {
            json!({"range": {"start": {"line": line, "character": at},
                             "end": {"line": line, "character": at + 1}},
                   "text": name})
        } else {
            let offset: usize = self
                .text
                .lines()
                .take(line)
                .map(|l| l.len() + 1)
                .sum::<usize>()
                + at;
            self.text.replace_range(offset..offset + 1, name);
            json!({"text": self.text})
        };
        let version = self.version;
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": version}, "contentChanges": [change]}),
        );
        self.wait_diagnostics(version)
    }

    /// The server's resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    fn stop(mut self) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let _ = self.child.wait();
    }
}

/// One message of the base protocol (`Content-Length` header, JSON body); `None` at the end
/// of the stream or on a malformed frame.
fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some(v) = header.strip_prefix("Content-Length:") {
            length = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The summary: medians of didChange -> publishDiagnostics and of `check_text` on the same
/// text, their ratio, and the server's memory over `MEMORY_EDITS` edits.
fn summary(text: &str) {
    let mut server = Server::start(text.to_string());
    for _ in 0..10 {
        server.edit();
    }
    let lsp = median(
        (0..SUMMARY_SAMPLES)
            .map(|_| {
                let t = Instant::now();
                black_box(server.edit());
                t.elapsed()
            })
            .collect(),
    );
    let check = median(
        (0..SUMMARY_SAMPLES)
            .map(|_| {
                let t = Instant::now();
                black_box(check_text(black_box(text), &Options::default()).is_valid());
                t.elapsed()
            })
            .collect(),
    );
    println!(
        "lsp_{LINES}_lines: didChange -> publishDiagnostics median {:.2} ms, check_text median {:.2} ms, ratio {:.2} ({} lines, {} sync, medians of {SUMMARY_SAMPLES})",
        lsp.as_secs_f64() * 1e3,
        check.as_secs_f64() * 1e3,
        lsp.as_secs_f64() / check.as_secs_f64(),
        text.lines().count(),
        if server.incremental { "incremental" } else { "full" },
    );

    let mut rss = vec![(0, server.rss_kib())];
    for i in 1..=MEMORY_EDITS {
        server.edit();
        if i % 100 == 0 {
            rss.push((i, server.rss_kib()));
        }
    }
    let figures: Vec<String> = rss
        .iter()
        .map(|(i, kib)| format!("{i}: {:.1}", *kib as f64 / 1024.0))
        .collect();
    let after_100 = rss[1].1 as f64;
    let last = rss[rss.len() - 1].1 as f64;
    println!(
        "lsp_{LINES}_lines: resident memory (MiB) after N edits: {}; from 100 to {MEMORY_EDITS} edits {:+.1}%",
        figures.join(", "),
        (last - after_100) / after_100 * 100.0,
    );
    server.stop();
}

fn bench(c: &mut Criterion) {
    // The generator's size is approximate: scale it to about `LINES` lines.
    let first = policy_text::policy(LINES).lines().count();
    let text = policy_text::policy(LINES * LINES / first.max(1));
    // `cargo test --all-targets` runs each benchmark once, without `--bench`: the summary's
    // 1,200 edits are for measuring runs only.
    if std::env::args().any(|a| a == "--bench") {
        summary(&text);
    }
    let mut group = c.benchmark_group(format!("lsp_{LINES}_lines"));
    group.sample_size(20);
    group.bench_function("check_text", |b| {
        b.iter(|| black_box(check_text(black_box(&text), &Options::default()).is_valid()));
    });
    let mut server = Server::start(text.clone());
    group.bench_function("did_change_to_publish_diagnostics", |b| {
        b.iter(|| black_box(server.edit()));
    });
    group.finish();
    server.stop();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
