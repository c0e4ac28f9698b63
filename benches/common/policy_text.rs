//! The generated policy text of `benches/check.rs` and `benches/lsp.rs`.

use std::fmt::Write as _;

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
