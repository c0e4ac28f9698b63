//! Times `check_text` on generated policies of `n` unused hosts, groups, tags, ipsets or
//! grants, to see how `check` scales with the input.
//!
//! `cargo run --release --example check_probe -- hosts 3000,30000,100000`

use std::fmt::Write as _;
use std::time::Instant;
use tailgrant::validate::{check_text, Options};

fn generate(kind: &str, n: usize) -> String {
    let mut s = String::from("{\n");
    let ip = |i: usize| format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
    match kind {
        "hosts" => {
            s.push_str("\t\"hosts\": {\n");
            for i in 0..n {
                let _ = writeln!(s, "\t\t\"h{i}\": \"{}\",", ip(i));
            }
            s.push_str("\t},\n");
        }
        "groups" => {
            s.push_str("\t\"groups\": {\n");
            for i in 0..n {
                let _ = writeln!(s, "\t\t\"group:g{i}\": [\"u{i}@example.com\"],");
            }
            s.push_str("\t},\n");
        }
        "tags" => {
            s.push_str("\t\"tagOwners\": {\n");
            for i in 0..n {
                let _ = writeln!(s, "\t\t\"tag:t{i}\": [\"u{i}@example.com\"],");
            }
            s.push_str("\t},\n");
        }
        "ipsets" => {
            s.push_str("\t\"ipsets\": {\n");
            for i in 0..n {
                let _ = writeln!(s, "\t\t\"ipset:s{i}\": [\"{}\"],", ip(i));
            }
            s.push_str("\t},\n");
        }
        _ => {
            s.push_str("\t\"grants\": [\n");
            for i in 0..n {
                let _ = writeln!(
                    s,
                    "\t\t{{\"src\": [\"u{i}@example.com\"], \"dst\": [\"{}\"], \"ip\": [\"tcp:{}\"]}},",
                    ip(i),
                    i % 65535 + 1
                );
            }
            s.push_str("\t],\n");
        }
    }
    s.push_str("}\n");
    s
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kind = args.get(1).map_or("hosts", String::as_str);
    let sizes = args.get(2).map_or("3000,30000,100000", String::as_str);
    for n in sizes.split(',').filter_map(|s| s.parse::<usize>().ok()) {
        let text = generate(kind, n);
        let start = Instant::now();
        let report = check_text(&text, &Options::default());
        let took = start.elapsed();
        println!(
            "{kind} {n}: {} findings, {:.1} ms",
            report.findings.len(),
            took.as_secs_f64() * 1e3
        );
    }
}
