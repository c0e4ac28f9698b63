//! The generated tailnets and policies of the engine benchmark, shared by
//! `benches/engine.rs` and `examples/scale_probe.rs`.

#![allow(dead_code, clippy::unwrap_used)]

use tailgrant::model::tailnet::Tailnet;

pub fn sizes(var: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(var)
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

pub fn addr(i: usize) -> String {
    format!("100.{}.{}.{}", 64 + (i >> 16) % 50, (i >> 8) & 255, i & 255)
}

pub fn tag_of(i: usize) -> String {
    if i.is_multiple_of(10) {
        "tag:relay".to_string()
    } else {
        format!("tag:g{}", i % 100)
    }
}

/// A tailnet of `n` nodes: a tenth are relays, the rest in 100 tag groups.
pub fn tailnet(n: usize) -> Tailnet {
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        nodes.push(format!(
            r#""n{i}": {{"ipv4": "{}", "tags": ["{}"]}}"#,
            addr(i),
            tag_of(i)
        ));
    }
    Tailnet::from_text(&format!(
        r#"{{"users": [], "nodes": {{{}}}}}"#,
        nodes.join(",")
    ))
    .unwrap()
}

/// The source group of relay grant `i` (even grants are relay grants).
pub fn relay_src(i: usize) -> usize {
    i % 100
}

/// The network question the benchmark asks: from node `n1` (`tag:g1`) to node `n3`
/// (`tag:g3`) on TCP, allowed on this port by the one grant [`policy`] adds for it...
pub const ALLOWED_PORT: u16 = 443;
/// ...and denied on this one (no generated grant opens it).
pub const DENIED_PORT: u16 = 444;

/// `g` grants: relay grants from tag groups to relays, and port grants between groups; plus
/// one grant `tag:g1` -> `tag:g3` on [`ALLOWED_PORT`], so that the benchmark's network
/// question has an allowed answer at every size.
pub fn policy(g: usize) -> String {
    let mut grants = Vec::with_capacity(g + 1);
    grants.push(format!(
        r#"{{"src": ["tag:g1"], "dst": ["tag:g3"], "ip": ["tcp:{ALLOWED_PORT}"]}}"#
    ));
    for i in 0..g {
        if i % 2 == 0 {
            grants.push(format!(
                r#"{{"src": ["tag:g{}"], "dst": ["tag:relay"], "app": {{"tailscale.com/cap/relay": []}}}}"#,
                relay_src(i)
            ));
        } else {
            grants.push(format!(
                r#"{{"src": ["tag:g{}"], "dst": ["tag:g{}"], "ip": ["tcp:{}"]}}"#,
                i % 100,
                (i / 100) % 100,
                1 + i % 60000
            ));
        }
    }
    let owners: Vec<String> = (0..100).map(|i| format!(r#""tag:g{i}": []"#)).collect();
    format!(
        r#"{{"grants": [{}], "tagOwners": {{"tag:relay": [], {}}}}}"#,
        grants.join(","),
        owners.join(",")
    )
}
