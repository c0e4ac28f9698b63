//! Parse + check speed on a generated policy of about 2,000 lines, against a baseline of
//! plain JSON parsing (`serde_json`) of the same text measured in the same run.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::fmt::Write as _;
use std::hint::black_box;
use tailgrant::check::{check_text, Options};

/// A realistic policy laid out as `tailgrant fmt` writes it (one member per line): groups,
/// tags, hosts, grants (relay grants among them), ACLs and SSH rules; about `lines` lines.
pub fn policy(lines: usize) -> String {
    let n = lines / 24;
    let mut s = String::from("// generated\n{\n\t\"groups\": {\n");
    for i in 0..n {
        let _ = writeln!(
            s,
            "\t\t\"group:g{i}\": [\"user{i}@example.com\", \"ops{i}@example.com\"],"
        );
    }
    s.push_str("\t},\n\t\"tagOwners\": {\n");
    for i in 0..n {
        let _ = writeln!(s, "\t\t\"tag:t{i}\": [\"group:g{i}\"],");
    }
    s.push_str("\t},\n\t\"hosts\": {\n");
    for i in 0..n {
        let _ = writeln!(s, "\t\t\"host{i}\": \"10.{}.{}.0/24\",", i / 256, i % 256);
    }
    s.push_str("\t},\n\t\"grants\": [\n");
    for i in 0..n {
        let _ = writeln!(s, "\t\t// access for team {i}");
        let _ = writeln!(s, "\t\t{{\n\t\t\t\"src\": [\"group:g{i}\"],\n\t\t\t\"dst\": [\"tag:t{i}\"],\n\t\t\t\"ip\":  [\"tcp:443\", \"udp:53\"],\n\t\t}},");
        let _ = writeln!(
            s,
            "\t\t{{\n\t\t\t\"src\": [\"tag:t{i}\"],\n\t\t\t\"dst\": [\"tag:t{}\"],\n\t\t\t\"app\": {{\"tailscale.com/cap/relay\": []}},\n\t\t}},",
            (i + 1) % n
        );
    }
    s.push_str("\t],\n\t\"acls\": [\n");
    for i in 0..n {
        let _ = writeln!(s, "\t\t{{\"action\": \"accept\", \"src\": [\"group:g{i}\"], \"dst\": [\"host{i}:22,80-90\"]}},");
    }
    s.push_str("\t],\n\t\"ssh\": [\n");
    for i in 0..n {
        let _ = writeln!(
            s,
            "\t\t{{\n\t\t\t\"action\": \"accept\",\n\t\t\t\"src\":    [\"group:g{i}\"],\n\t\t\t\"dst\":    [\"tag:t{i}\"],\n\t\t\t\"users\":  [\"root\"],\n\t\t}},"
        );
    }
    s.push_str("\t],\n}\n");
    s
}

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
        b.iter(|| black_box(tailgrant::hujson::parse(black_box(&text)).is_ok()))
    });
    group.bench_function("fmt", |b| {
        b.iter(|| black_box(tailgrant::fmt::format(black_box(&text)).is_ok()))
    });
    group.bench_function("parse_and_check", |b| {
        b.iter(|| black_box(check_text(black_box(&text), &Options::default()).is_valid()));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
