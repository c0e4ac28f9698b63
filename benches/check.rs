//! Parse + check speed on a generated policy of about 2,000 lines, against a baseline of
//! plain JSON parsing (`serde_json`) of the same text measured in the same run; and the cost
//! of `check` and of every output format for 3,000 and 30,000 findings, with the scaling
//! ratio of each against its 3,000 baseline printed at the end (linear is 10) when really
//! benchmarking (`cargo bench`; never under `cargo test`).
//!
//! `cargo bench --bench check -- --warm-up-time 1 --measurement-time 2 findings`

/// The binary's allocator (`src/main.rs`), so that the figures are what `tailgrant` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, Criterion, Throughput};
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use tailgrant::report::{self, FileReport, Format};
use tailgrant::validate::{check_text, Options};

#[path = "common/mode.rs"]
mod mode;

#[path = "common/policy_text.rs"]
mod policy_text;
use policy_text::policy;

fn bench(c: &mut Criterion) {
    let text = policy(2_000);
    let lines = text.lines().count() as u64;
    let mut group = c.benchmark_group("check_2000_lines");
    group.throughput(Throughput::Elements(lines));
    group.bench_function("baseline_serde_json_parse", |b| {
        let plain = text
            .replace("// generated\n", "")
            .replace(",\n}", "\n}")
            .replace(",\n]", "\n]");
        b.iter(|| black_box(serde_json::from_str::<serde_json::Value>(black_box(&plain)).ok()));
    });
    group.bench_function("hujson_parse", |b| {
        b.iter(|| black_box(tailgrant::syntax::hujson::parse(black_box(&text)).is_ok()))
    });
    group.bench_function("fmt", |b| {
        b.iter(|| black_box(tailgrant::syntax::fmt::format(black_box(&text)).is_ok()))
    });
    group.bench_function("parse_and_check", |b| {
        b.iter(|| black_box(check_text(black_box(&text), &Options::default()).is_valid()));
    });
    group.finish();
}

/// Finding counts of the scaling benchmarks: a baseline and ten times it.
const FINDINGS: [usize; 2] = [3_000, 30_000];

/// A policy with `n` unused hosts (`n` warnings), one per line, or all on one line.
fn unused_hosts(n: usize, one_line: bool) -> String {
    let sep = if one_line { " " } else { "\n\t\t" };
    let mut s = String::from("{\n\t\"hosts\": {");
    for i in 0..n {
        let _ = write!(
            s,
            "{sep}\"h{i}\": \"10.{}.{}.{}\",",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        );
    }
    s.push_str("\n\t},\n}\n");
    s
}

fn report_of(text: String) -> FileReport {
    let findings = check_text(&text, &Options::default()).findings;
    FileReport::new("policy.hujson".to_string(), text, findings)
}

const FORMATS: [(&str, Format); 4] = [
    ("human", Format::Human),
    ("json", Format::Json),
    ("github", Format::Github),
    ("sarif", Format::Sarif),
];

fn findings(c: &mut Criterion) {
    let all = report::Options {
        max_findings: None,
        ..report::Options::default()
    };
    let mut group = c.benchmark_group("findings");
    group.sample_size(10);
    for n in FINDINGS {
        let text = unused_hosts(n, false);
        group.bench_function(format!("check_{n}"), |b| {
            b.iter(|| {
                black_box(
                    check_text(black_box(&text), &Options::default())
                        .findings
                        .len(),
                )
            })
        });
        let reports = [report_of(text)];
        let one_line = [report_of(unused_hosts(n, true))];
        for (name, format) in FORMATS {
            group.bench_function(format!("{name}_{n}"), |b| {
                b.iter(|| report::write(format, &reports, &all, &mut std::io::sink()).is_ok())
            });
        }
        group.bench_function(format!("human_one_line_{n}"), |b| {
            b.iter(|| report::write(Format::Human, &one_line, &all, &mut std::io::sink()).is_ok())
        });
    }
    group.finish();
}

/// Criterion's directory of results (as criterion itself picks it).
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    target.join("criterion")
}

/// The mean time of one benchmark of this run, in nanoseconds, from criterion's estimates.
fn mean_ns(group: &str, id: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["mean"]["point_estimate"].as_f64()
}

/// Prints, for each benchmark of the `findings` group measured in this run, the ratio of its
/// time at 30,000 findings to its time at 3,000 (linear is 10).
fn print_ratios(started: std::time::SystemTime) {
    let [small, large] = FINDINGS;
    let names = [
        "check",
        "human",
        "json",
        "github",
        "sarif",
        "human_one_line",
    ];
    let fresh = |id: &str| {
        let path = criterion_dir()
            .join("findings")
            .join(id)
            .join("new/estimates.json");
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= started)
    };
    for name in names {
        let (a, b) = (format!("{name}_{small}"), format!("{name}_{large}"));
        if !(fresh(&a) && fresh(&b)) {
            continue;
        }
        if let (Some(t_small), Some(t_large)) = (mean_ns("findings", &a), mean_ns("findings", &b)) {
            println!(
                "scaling {name}: {large} findings / {small} findings = {:.1} (linear is 10; {:.2} ms vs {:.2} ms)",
                t_large / t_small,
                t_large / 1e6,
                t_small / 1e6
            );
        }
    }
}

criterion_group!(benches, bench, findings);

fn main() {
    let started = std::time::SystemTime::now();
    benches();
    Criterion::default().configure_from_args().final_summary();
    if mode::benchmarking() {
        print_ratios(started);
    }
}
