//! Relay decisions side by side: tailgrant's decision table, Cedar and Rego (regorus) on the
//! same generated relay grants (the tailnets and policies of `benches/engine.rs`).
//!
//! Each relay grant `tag:gK -> tag:relay` (capability `tailscale.com/cap/relay`) is written
//! as one Cedar `permit` and as one Rego rule. For each size this prints the median latency
//! of one relay decision in tailgrant (`allows_allocation`, the relay's hot path), in Cedar
//! (`is_authorized` with the two entities involved) and in regorus
//! (`eval_rule("data.relay.allow")`), with the ratios.
//!
//! ```text
//! cargo bench -p tailgrant-peer-bench                                  # 1k and 10k nodes, 100/1k/10k grants
//! TG_BENCH_NODES=1000,100000 cargo bench -p tailgrant-peer-bench       # choose the node counts
//! TG_BENCH_GRANTS=100,2000 cargo bench -p tailgrant-peer-bench         # choose the grant counts
//! ```
//! Regorus is skipped above 1000 grants unless `TG_BENCH_REGO_ALL=1` (one evaluation walks
//! every rule: milliseconds each).
//!
//! Without `--bench` (`cargo test -p tailgrant-peer-bench --benches`) it measures nothing and
//! prints nothing: it checks on one small size that the three engines give the same answer
//! to an allowed and to a denied request.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs,
    reason = "benchmark code"
)]

use std::hint::black_box;
use std::str::FromStr;
use std::time::Duration;
use tailgrant::engine::table::DecisionTable;
use tailgrant::validate::{validate_text, Options};

#[path = "../../common/generated.rs"]
mod generated;

#[path = "../../common/mode.rs"]
mod mode;

#[path = "../../common/median.rs"]
mod median;

use generated::{policy, relay_src, sizes, tag_of, tailnet};
use median::median;

/// A requester whose group some relay grant names (`tag:g2`), and one whose group no relay
/// grant names (`tag:g1`: relay grants come from even groups only).
const ALLOWED: usize = 2;
const DENIED: usize = 1;
/// The relay asked (`tag:relay`).
const RELAY: usize = 0;

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

/// Nodes `nI` as Cedar entities, each a member of its tag.
fn cedar_entities(nodes: &[usize]) -> cedar_policy::Entities {
    let json: Vec<serde_json::Value> = nodes
        .iter()
        .map(|i| {
            serde_json::json!({
                "uid": {"type": "Node", "id": format!("n{i}")},
                "attrs": {},
                "parents": [{"type": "Tag", "id": tag_of(*i).trim_start_matches("tag:")}],
            })
        })
        .collect();
    cedar_policy::Entities::from_json_value(serde_json::Value::Array(json), None).unwrap()
}

/// Cedar's answer to "may node `src` allocate on node `relay`".
struct CedarQuestion {
    policies: cedar_policy::PolicySet,
    entities: cedar_policy::Entities,
    request: cedar_policy::Request,
    authorizer: cedar_policy::Authorizer,
}

impl CedarQuestion {
    fn new(g: usize, src: usize, relay: usize) -> Self {
        let uid = |s: String| cedar_policy::EntityUid::from_str(&s).unwrap();
        let request = cedar_policy::Request::new(
            uid(format!(r#"Node::"n{src}""#)),
            uid(r#"Action::"allocate""#.to_string()),
            uid(format!(r#"Node::"n{relay}""#)),
            cedar_policy::Context::empty(),
            None,
        )
        .unwrap();
        CedarQuestion {
            policies: cedar_policies(g),
            entities: cedar_entities(&[src, relay]),
            request,
            authorizer: cedar_policy::Authorizer::new(),
        }
    }

    fn allows(&self) -> bool {
        self.authorizer
            .is_authorized(&self.request, &self.policies, &self.entities)
            .decision()
            == cedar_policy::Decision::Allow
    }
}

/// The same relay grants in Rego, one rule each, with the input of node `src` asking a relay.
fn rego_engine(g: usize, src: usize) -> regorus::Engine {
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
    let input = serde_json::json!({"src_tags": [tag_of(src)], "relay_tags": [tag_of(RELAY)]});
    engine.set_input(regorus::Value::from_json_str(&input.to_string()).unwrap());
    engine
}

fn rego_allows(engine: &mut regorus::Engine) -> bool {
    engine
        .eval_rule("data.relay.allow".to_string())
        .is_ok_and(|v| v == regorus::Value::from(true))
}

/// The decision table of `n` generated nodes and `g` generated grants.
fn build_table(n: usize, g: usize) -> DecisionTable {
    let p = validate_text(&policy(g), &Options::default())
        .into_validated()
        .unwrap();
    DecisionTable::build(&p, &tailnet(n))
}

fn table_allows(table: &DecisionTable, src: usize) -> bool {
    let relay = table.node(&format!("n{RELAY}")).unwrap();
    let req = table.node(&format!("n{src}")).unwrap();
    table.allows_allocation(req, relay)
}

fn ns(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}

/// The three engines agree on an allowed and a denied request (the check that runs without
/// `--bench`, and before every measured size).
fn assert_agreement(table: &DecisionTable, g: usize) {
    for (src, expected) in [(ALLOWED, true), (DENIED, false)] {
        assert_eq!(table_allows(table, src), expected, "tailgrant, n{src}");
        assert_eq!(
            CedarQuestion::new(g, src, RELAY).allows(),
            expected,
            "cedar, n{src}"
        );
        assert_eq!(
            rego_allows(&mut rego_engine(g, src)),
            expected,
            "regorus, n{src}"
        );
    }
}

fn measure() {
    let rego_all = std::env::var("TG_BENCH_REGO_ALL").is_ok();
    println!(
        "{:>7} {:>6} {:>9} {:>10} {:>12} {:>8} {:>9}",
        "nodes", "grants", "alloc ns", "cedar ns", "rego ns", "xcedar", "xrego"
    );
    for n in sizes("TG_BENCH_NODES", &[1000, 10000]) {
        for g in sizes("TG_BENCH_GRANTS", &[100, 1000, 10000]) {
            let table = build_table(n, g);
            assert_agreement(&table, g);
            let relay = table.node(&format!("n{RELAY}")).unwrap();
            let req = table.node(&format!("n{ALLOWED}")).unwrap();
            let alloc = median(|| table.allows_allocation(black_box(req), black_box(relay)));
            let question = CedarQuestion::new(g, ALLOWED, RELAY);
            let cedar = median(|| question.allows());
            let rego = (rego_all || g <= 1000).then(|| {
                let mut engine = rego_engine(g, ALLOWED);
                median(|| rego_allows(&mut engine))
            });
            println!(
                "{n:>7} {g:>6} {:>9.1} {:>10.0} {:>12} {:>8.0} {:>9}",
                ns(alloc),
                ns(cedar),
                rego.map_or("-".to_string(), |r| format!("{:.0}", ns(r))),
                ns(cedar) / ns(alloc),
                rego.map_or("-".to_string(), |r| format!("{:.0}", ns(r) / ns(alloc))),
            );
        }
    }
}

fn main() {
    if mode::benchmarking() {
        measure();
    } else {
        assert_agreement(&build_table(100, 10), 10);
    }
}
