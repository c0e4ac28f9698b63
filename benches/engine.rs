//! The grant engine at scale, side by side with Cedar and Rego (regorus).
//!
//! Generated tailnets: a tenth of the nodes are relays (`tag:relay`), the others spread over
//! 100 tag groups. `g` grants: half are relay grants (`tag:gK` -> `tag:relay`, capability
//! `tailscale.com/cap/relay`), half port grants between groups (`tcp:N`).
//!
//! For each size this prints the table build time (parse excluded; compile + index), the
//! table size in bytes, and the median latency of a relay decision in tailgrant
//! (`allows_allocation`, the relay's hot path; `+why`: `may_allocate`, which also returns
//! the reason and the grants), in Cedar (`is_authorized`, one `permit` per relay grant) and in regorus
//! (one Rego rule per relay grant), with the ratios; criterion then measures `may_allocate`
//! and `allows` in detail.
//!
//! A second table prints the network question (`decide(..).allows(tcp, port)` from `n1` to
//! `n3`), allowed (port 443, opened by one grant) and denied (port 444, opened by none),
//! towards the node (`Dest::Node`) and towards its address (`Dest::Addr`), with the ratio of
//! each to the allowed node question measured in the same run (the baseline).
//!
//! ```text
//! cargo bench --bench engine                          # 1k and 10k nodes, 100/1k/10k grants
//! TG_BENCH_NODES=1000,10000,100000 cargo bench --bench engine   # add 100k nodes
//! TG_BENCH_GRANTS=100,2000 cargo bench --bench engine           # choose the grant counts
//! ```
//! Regorus is skipped above 1000 grants unless `TG_BENCH_REGO_ALL=1` (one evaluation walks
//! every rule: milliseconds each); `TG_BENCH_PEERS=0` skips Cedar and regorus.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs,
    reason = "benchmark code"
)]

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};
use tailgrant::policy::parse_policy;
use tailgrant::table::{DecisionTable, Dest, Query};

#[path = "common/generated.rs"]
mod generated;

use generated::{addr, policy, relay_src, sizes, tag_of, tailnet, ALLOWED_PORT, DENIED_PORT};

/// The same relay grants in Cedar: one `permit` each.
fn cedar_policies(g: usize) -> cedar_policy::PolicySet {
    let mut text = String::new();
    for i in (0..g).step_by(2) {
        text.push_str(&format!(
            "permit(principal in Tag::\"g{}\", action == Action::\"allocate\", resource in Tag::\"relay\");\n",
            relay_src(i)
        ));
    }
    cedar_policy::PolicySet::from_str(&text).unwrap()
}

fn cedar_entities(names: &[(usize, &str)]) -> cedar_policy::Entities {
    let json: Vec<serde_json::Value> = names
        .iter()
        .map(|(i, _)| {
            let tag = tag_of(*i);
            serde_json::json!({
                "uid": {"type": "Node", "id": format!("n{i}")},
                "attrs": {},
                "parents": [{"type": "Tag", "id": tag.trim_start_matches("tag:")}],
            })
        })
        .collect();
    cedar_policy::Entities::from_json_value(serde_json::Value::Array(json), None).unwrap()
}

/// The same relay grants in Rego: one rule each.
fn rego_engine(g: usize) -> regorus::Engine {
    let mut text = String::from("package relay\nimport rego.v1\ndefault allow := false\n");
    for i in (0..g).step_by(2) {
        text.push_str(&format!(
            "allow if {{\n  \"tag:g{}\" in input.src_tags\n  \"tag:relay\" in input.relay_tags\n}}\n",
            relay_src(i)
        ));
    }
    let mut engine = regorus::Engine::new();
    engine
        .add_policy("relay.rego".to_string(), text)
        .expect("rego policy");
    engine
}

/// Median time per call: 15 batches, each long enough to be measured.
fn median(mut f: impl FnMut() -> bool) -> Duration {
    let mut batch = 1u32;
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            black_box(f());
        }
        if t.elapsed() > Duration::from_millis(5) || batch >= 1 << 24 {
            break;
        }
        batch *= 2;
    }
    let mut times: Vec<Duration> = (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                black_box(f());
            }
            t.elapsed() / batch
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn ns(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}

fn engine(c: &mut Criterion) {
    let rego_all = std::env::var("TG_BENCH_REGO_ALL").is_ok();
    let peers = std::env::var("TG_BENCH_PEERS").map_or(true, |v| v != "0");
    let mut network = Vec::new();
    println!(
        "\n{:>7} {:>6} {:>10} {:>11} {:>9} {:>9} {:>9} {:>10} {:>12} {:>8} {:>9}",
        "nodes",
        "grants",
        "build ms",
        "table B",
        "alloc ns",
        "+why ns",
        "allows ns",
        "cedar ns",
        "rego ns",
        "xcedar",
        "xrego"
    );
    for n in sizes("TG_BENCH_NODES", &[1000, 10000]) {
        let t = tailnet(n);
        for g in sizes("TG_BENCH_GRANTS", &[100, 1000, 10000]) {
            let (p, _) = parse_policy(&policy(g)).unwrap();
            let start = Instant::now();
            let table = DecisionTable::build(&p, &t);
            let build = start.elapsed();
            let bytes = table.to_bytes().len();
            // n2 is in group g2, which relay grants name; n0 is a relay.
            let (relay, req) = (table.node("n0").unwrap(), table.node("n2").unwrap());
            assert!(table.allows_allocation(req, relay));
            let alloc = median(|| table.allows_allocation(black_box(req), black_box(relay)));
            let explained = median(|| table.may_allocate(black_box(req), black_box(relay)).allowed);
            // The network question: n1 (tag:g1) to n3 (tag:g3), towards the node and
            // towards its address, on the port one grant opens and on one none opens.
            let src: IpAddr = addr(1).parse().unwrap();
            let node = Query {
                src,
                dst: Dest::Node(table.node("n3").unwrap()),
            };
            let address = Query {
                src,
                dst: Dest::Addr(addr(3).parse().unwrap()),
            };
            let ask = |q: &Query, port: u16| table.decide(black_box(q)).allows(6, black_box(port));
            for q in [&node, &address] {
                assert!(ask(q, ALLOWED_PORT) && !ask(q, DENIED_PORT), "{q:?}");
            }
            let allows = median(|| ask(&node, ALLOWED_PORT));
            let times = [
                allows,
                median(|| ask(&node, DENIED_PORT)),
                median(|| ask(&address, ALLOWED_PORT)),
                median(|| ask(&address, DENIED_PORT)),
            ];
            network.push((n, g, times));

            let policies = cedar_policies(g);
            let entities = cedar_entities(&[(2, "n2"), (0, "n0")]);
            let request = cedar_policy::Request::new(
                cedar_policy::EntityUid::from_str(r#"Node::"n2""#).unwrap(),
                cedar_policy::EntityUid::from_str(r#"Action::"allocate""#).unwrap(),
                cedar_policy::EntityUid::from_str(r#"Node::"n0""#).unwrap(),
                cedar_policy::Context::empty(),
                None,
            )
            .unwrap();
            let authorizer = cedar_policy::Authorizer::new();
            let cedar_allows = || {
                authorizer
                    .is_authorized(&request, &policies, &entities)
                    .decision()
                    == cedar_policy::Decision::Allow
            };
            let cedar = peers.then(|| {
                assert!(cedar_allows());
                median(cedar_allows)
            });

            let rego = (peers && (rego_all || g <= 1000)).then(|| {
                let mut engine = rego_engine(g);
                let input = regorus::Value::from_json_str(
                    r#"{"src_tags": ["tag:g2"], "relay_tags": ["tag:relay"]}"#,
                )
                .unwrap();
                engine.set_input(input);
                let mut ask = || {
                    engine
                        .eval_rule("data.relay.allow".to_string())
                        .is_ok_and(|v| v == regorus::Value::from(true))
                };
                assert!(ask());
                median(ask)
            });
            let or_dash = |d: Option<Duration>, f: &dyn Fn(Duration) -> f64| {
                d.map_or("-".to_string(), |d| format!("{:.0}", f(d)))
            };
            println!(
                "{n:>7} {g:>6} {:>10.1} {bytes:>11} {:>9.1} {:>9.1} {:>9.1} {:>10} {:>12} {:>8} {:>9}",
                build.as_secs_f64() * 1e3,
                ns(alloc),
                ns(explained),
                ns(allows),
                or_dash(cedar, &ns),
                or_dash(rego, &ns),
                or_dash(cedar, &|c| ns(c) / ns(alloc)),
                or_dash(rego, &|r| ns(r) / ns(alloc)),
            );

            let mut group = c.benchmark_group(format!("nodes{n}_grants{g}"));
            group
                .sample_size(20)
                .warm_up_time(Duration::from_millis(300))
                .measurement_time(Duration::from_secs(1));
            group.bench_function("allows_allocation", |b| {
                b.iter(|| table.allows_allocation(black_box(req), black_box(relay)))
            });
            group.bench_function("may_allocate", |b| {
                b.iter(|| table.may_allocate(black_box(req), black_box(relay)))
            });
            for (name, q, port) in [
                ("node_allowed", &node, ALLOWED_PORT),
                ("node_denied", &node, DENIED_PORT),
                ("addr_allowed", &address, ALLOWED_PORT),
                ("addr_denied", &address, DENIED_PORT),
            ] {
                group.bench_function(name, |b| b.iter(|| ask(q, port)));
            }
            group.finish();
        }
    }

    println!(
        "\nnetwork question, median ns (ratio to the allowed node question of the same size)\n{:>7} {:>6} {:>16} {:>16} {:>16} {:>16}",
        "nodes", "grants", "node allowed", "node denied", "addr allowed", "addr denied"
    );
    for (n, g, times) in network {
        let base = ns(times[0]);
        let cells: Vec<String> = times
            .iter()
            .map(|t| format!("{:.1} ({:.2})", ns(*t), ns(*t) / base))
            .collect();
        println!(
            "{n:>7} {g:>6} {:>16} {:>16} {:>16} {:>16}",
            cells[0], cells[1], cells[2], cells[3]
        );
    }
}

criterion_group!(benches, engine);
criterion_main!(benches);
