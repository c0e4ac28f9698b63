//! tailgrant's decision table against Tailscale's Rust packet filter (tailscale-rs's
//! `ts_packetfilter` and `ts_bart_packetfilter`, fed through `ts_packetfilter_serde`) and
//! Go's filter rules (`support`), on generated network questions:
//! - generated policies and tailnets: tailscale-rs gets the per-node filters that tailgrant
//!   compiles;
//! - the conformance captures (`../shared/conformance`): tailscale-rs gets the filters that
//!   Tailscale's control plane pushed, tailgrant compiles the case's policy itself.
//!
//! Every answer of the table must equal Go's; where tailscale-rs answers otherwise, the
//! difference must be one of the known exceptions (`support::Exception`). A failure prints
//! the seed of its questions; `ORACLE_SEED=<seed>` replays a conformance run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod support;

/// The conformance report's reading of captured filters (order-insensitive where Tailscale's
/// order carries no meaning).
#[path = "../../tests/common/capture.rs"]
mod capture;
/// The corpora beside the checkout, and what a test does when one is missing.
#[path = "../../tests/common/corpus.rs"]
mod corpus;

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use support::{
    icmp_for, interesting_addrs, receiver, ts_rules, witness_policy, witness_tailnet, Exception,
    NodeFilter, Question, Side, EXCEPTIONS, ICMP, SCTP, TCP, UDP,
};
use tailgrant::engine::compile::compile_filters;
use tailgrant::engine::table::{DecisionTable, Dest};
use tailgrant::model::tailnet::Tailnet;
use tailgrant::validate::{validate_text, Options};

/// Ports asked about: the ends of the generated ranges and a few outside them.
const PORTS: &[u16] = &[
    0, 1, 9, 21, 22, 23, 53, 79, 80, 443, 444, 999, 1000, 2000, 2001, 65535,
];

/// The per-node filters of a tailnet, by node name.
type Filters = BTreeMap<String, NodeFilter>;

/// What a run of questions found.
#[derive(Debug, Default)]
struct Tally {
    questions: usize,
    allowed: usize,
    exceptions: BTreeMap<Exception, usize>,
}

/// A random question over `addrs` (sources and destinations alike, plus an address outside
/// everything).
fn question(rng: &mut StdRng, addrs: &[IpAddr]) -> Question {
    let pick = |rng: &mut StdRng| -> IpAddr {
        if addrs.is_empty() || rng.gen_ratio(1, 20) {
            if rng.gen_bool(0.5) {
                IpAddr::from([100, 64, rng.gen(), rng.gen()])
            } else {
                IpAddr::from([0xfd7a, 0x115c, 0xa1e0, 0, 0, 0, 0, rng.gen::<u16>()])
            }
        } else {
            addrs[rng.gen_range(0..addrs.len())]
        }
    };
    let src = pick(rng);
    let dst = pick(rng);
    let proto = match rng.gen_range(0..4) {
        0 => TCP,
        1 => UDP,
        2 => SCTP,
        _ => icmp_for(dst),
    };
    let port = if rng.gen_ratio(1, 8) {
        rng.gen()
    } else {
        PORTS[rng.gen_range(0..PORTS.len())]
    };
    Question {
        src,
        dst,
        proto,
        port,
    }
}

/// Asks `count` questions of the table and of the filter of the node that receives each;
/// returns the first disagreement that is not a known exception.
fn ask(
    table: &DecisionTable,
    tailnet: &Tailnet,
    filters: &Filters,
    seed: u64,
    count: usize,
    tally: &mut Tally,
) -> Result<(), String> {
    let addrs = interesting_addrs(tailnet, filters.values().flat_map(|f| &f.rules));
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..count {
        let q = question(&mut rng, &addrs);
        let ours = q.table_allows(table);
        let Some(name) = receiver(tailnet, q.dst) else {
            if ours {
                return Err(format!(
                    "seed {seed}: {q:?}: no node receives it, the table allows"
                ));
            }
            tally.questions += 1;
            continue;
        };
        // A capture may leave a node out; there is nothing to compare with then.
        let Some(filter) = filters.get(name) else {
            continue;
        };
        tally.questions += 1;
        tally.allowed += usize::from(ours);
        let (go, plain, bart) = (
            filter.go(&q),
            filter.tailscale_rs(&q),
            filter.tailscale_rs_bart(&q),
        );
        if ours != go {
            return Err(format!(
                "seed {seed}: {q:?}: the table answers {ours}, Go's filter {go} (tailscale-rs {plain}, its bart filter {bart})"
            ));
        }
        // Go is the truth: each of tailscale-rs's filters may differ from it only for a
        // known reason (the accelerated filter inherits the plain one's).
        if plain != go {
            let e = filter.plain_exception(&q).ok_or_else(|| {
                format!("seed {seed}: {q:?}: tailscale-rs's filter answers {plain}, Go's filter and the table {go}, for no known reason; rules {:?}", filter.rules)
            })?;
            *tally.exceptions.entry(e).or_default() += 1;
        }
        if bart != go && bart != plain {
            let e = filter.bart_exception(&q).ok_or_else(|| {
                format!("seed {seed}: {q:?}: tailscale-rs's bart filter answers {bart}, Go's filter and the table {go}, for no known reason; rules {:?}", filter.rules)
            })?;
            *tally.exceptions.entry(e).or_default() += 1;
        }
    }
    Ok(())
}

fn filters_of(named_wire: impl Iterator<Item = (String, String)>) -> Result<Filters, String> {
    named_wire
        .map(|(name, wire)| {
            let rules = ts_rules(&wire).map_err(|e| format!("`{name}`: {e}"))?;
            Ok((name, NodeFilter::new(rules)))
        })
        .collect()
}

/// tailgrant's compiled filters, as tailscale-rs reads them; `None` for a policy the checker
/// rejects (a generated grant may grant nothing, which Tailscale refuses).
fn try_compiled_filters(policy_text: &str, tailnet: &Tailnet) -> Option<(DecisionTable, Filters)> {
    let policy = validate_text(policy_text, &Options::default())
        .into_validated()
        .ok()?;
    let compiled = compile_filters(&policy, tailnet);
    let filters = filters_of(compiled.nodes.iter().map(|(name, out)| {
        (
            name.clone(),
            serde_json::to_string(&out.packet_filter_rules).unwrap(),
        )
    }))
    .unwrap();
    Some((DecisionTable::build(&policy, tailnet), filters))
}

/// [`try_compiled_filters`] of a policy that must be valid.
fn compiled_filters(policy_text: &str, tailnet: &Tailnet) -> (DecisionTable, Filters) {
    try_compiled_filters(policy_text, tailnet)
        .unwrap_or_else(|| panic!("the checker rejects {policy_text}"))
}

// Generated policies and tailnets.

const TAGS: &[&str] = &["tag:a", "tag:b", "tag:c"];
const SELECTORS: &[&str] = &[
    "*",
    "tag:a",
    "tag:b",
    "tag:c",
    "odin@example.com",
    "thor@example.org",
    "autogroup:member",
    "autogroup:tagged",
    "100.64.0.0/30",
    "fd7a:115c:a1e0::/126",
    "10.1.0.0/16",
    "10.1.2.128/25",
    "192.168.0.0/16",
    "fd00:1::/80",
];
const ROUTES: &[&str] = &[
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.2.0/24",
    "192.168.1.0/24",
    "fd00:1::/64",
];
const IPS: &[&str] = &[
    "*",
    "tcp:22",
    "udp:53",
    "tcp:80-443",
    "icmp:*",
    "22",
    "sctp:9",
    "udp:1000-2000",
    "ipv6-icmp:*",
];

/// A node: tag (when it has no user), user, approved route.
type GenNode = (usize, Option<usize>, Option<usize>);

fn gen_tailnet(nodes: &[GenNode]) -> Tailnet {
    let ns: Vec<String> = nodes
        .iter()
        .enumerate()
        .map(|(i, (tag, user, route))| {
            let routes = route.map_or("[]".to_string(), |r| format!(r#"["{}"]"#, ROUTES[r]));
            let (owner, tags) = match user {
                Some(u) => (format!(r#""user": "{}","#, ["odin", "thor"][*u]), "[]".to_string()),
                None => (String::new(), format!(r#"["{}"]"#, TAGS[*tag])),
            };
            format!(
                r#""n{i}": {{"ipv4": "100.64.0.{n}", "ipv6": "fd7a:115c:a1e0::{n}", {owner} "tags": {tags}, "routable_ips": {routes}, "approved_routes": {routes}}}"#,
                n = i + 1
            )
        })
        .collect();
    Tailnet::from_text(&format!(
        r#"{{"tailnet": "odin@example.com", "users": [{{"name": "odin", "email": "odin@example.com"}}, {{"name": "thor", "email": "thor@example.org"}}], "nodes": {{{}}}}}"#,
        ns.join(",")
    ))
    .unwrap()
}

/// A grant: source, destination, `ip` entries, and whether it also grants a capability.
type GenGrant = (usize, usize, Vec<usize>, bool);

/// A grant with neither `ip` entries nor a capability grants nothing and the checker rejects
/// it (`ip and app can not both be empty`), so it is left out of the policy.
fn gen_policy(grants: &[GenGrant]) -> String {
    let gs: Vec<String> = grants
        .iter()
        .filter(|(_, _, ips, app)| !ips.is_empty() || *app)
        .map(|(s, d, ips, app)| {
            let ips: Vec<String> = ips.iter().map(|i| format!(r#""{}""#, IPS[*i])).collect();
            let app_part = if *app {
                r#", "app": {"example.com/cap/x": [{}]}"#
            } else {
                ""
            };
            let ip = if ips.is_empty() && *app {
                String::new()
            } else {
                format!(r#", "ip": [{}]"#, ips.join(","))
            };
            format!(
                r#"{{"src": ["{}"], "dst": ["{}"]{ip}{app_part}}}"#,
                SELECTORS[*s], SELECTORS[*d]
            )
        })
        .collect();
    format!(
        r#"{{"grants": [{}], "tagOwners": {{"tag:a": [], "tag:b": [], "tag:c": []}}}}"#,
        gs.join(",")
    )
}

/// Questions per generated case; with 64 cases, more than 10,000 per run.
const QUESTIONS_PER_CASE: usize = 200;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn table_answers_network_questions_as_tailscale_filters_do(
        nodes in prop::collection::vec((0..TAGS.len(), prop::option::of(0usize..2), prop::option::weighted(0.4, 0..ROUTES.len())), 1..7),
        grants in prop::collection::vec((0..SELECTORS.len(), 0..SELECTORS.len(), prop::collection::vec(0..IPS.len(), 0..3), any::<bool>()), 0..6),
        seed in any::<u64>(),
    ) {
        let tailnet = gen_tailnet(&nodes);
        let text = gen_policy(&grants);
        let compiled = try_compiled_filters(&text, &tailnet);
        prop_assume!(compiled.is_some(), "the checker rejects {}", text);
        let Some((table, filters)) = compiled else { unreachable!() };
        let mut tally = Tally::default();
        let run = ask(&table, &tailnet, &filters, seed, QUESTIONS_PER_CASE, &mut tally);
        prop_assert!(run.is_ok(), "{} in {}", run.unwrap_err(), text);
        // tailgrant compiles a filter for every node, so every question is compared.
        prop_assert_eq!(tally.questions, QUESTIONS_PER_CASE);
    }
}

#[test]
fn each_exception_is_one() {
    let tailnet = witness_tailnet().unwrap();
    let a = &tailnet.nodes["a"];
    let b = &tailnet.nodes["b"];
    for w in EXCEPTIONS {
        let text = witness_policy(w.grants);
        let (table, filters) = compiled_filters(&text, &tailnet);
        let pick = |n: &tailgrant::model::tailnet::Node| {
            n.addresses().find(|x| x.is_ipv6() == w.ipv6).unwrap()
        };
        let q = Question {
            src: pick(a),
            dst: pick(b),
            proto: w.proto,
            port: w.port,
        };
        let f = &filters["b"];
        let what = format!("{:?}: {q:?} through {}", w.exception, w.grants);
        let want = w.go_allows;
        assert_eq!(f.go(&q), want, "{what}: Go's filter");
        assert_eq!(
            q.table_allows(&table),
            want,
            "{what}: the table answers as Go"
        );
        let node = table.node("b").unwrap();
        assert_eq!(
            q.table_allows_at(&table, Dest::Node(node)),
            want,
            "{what}: the node query too"
        );
        // If tailscale-rs answers as Go now, the exception is gone: remove it.
        assert_eq!(f.tailscale_rs_bart(&q), !want, "{what}: the bart filter");
        match w.side {
            Side::Plain => {
                assert_eq!(f.tailscale_rs(&q), !want, "{what}: the plain filter");
                assert_eq!(f.plain_exception(&q), Some(w.exception), "{what}");
            }
            Side::Bart => {
                assert_eq!(f.tailscale_rs(&q), want, "{what}: the plain filter");
                assert_eq!(f.bart_exception(&q), Some(w.exception), "{what}");
            }
        }
    }
}

#[test]
fn every_exception_kind_has_a_witness() {
    for kind in [
        Exception::IcmpThroughOtherProtocols,
        Exception::IcmpOutsidePortRange,
        Exception::BartLongestSourcePrefixOnly,
        Exception::BartPortRangeOfAllButOne,
    ] {
        assert!(EXCEPTIONS.iter().any(|w| w.exception == kind), "{kind:?}");
    }
}

#[test]
fn icmp_is_denied_where_no_rule_opens_the_address() {
    let tailnet = witness_tailnet().unwrap();
    // A capability grant is not a network rule: it opens no ICMP.
    let text = witness_policy(
        r#"{"src": ["tag:a"], "dst": ["tag:b"], "app": {"example.com/cap/x": [{}]}},
           {"src": ["tag:b"], "dst": ["tag:a"], "ip": ["tcp:22"]}"#,
    );
    let (table, filters) = compiled_filters(&text, &tailnet);
    let a = tailnet.nodes["a"].addresses().next().unwrap();
    let b = tailnet.nodes["b"].addresses().next().unwrap();
    let q = Question {
        src: a,
        dst: b,
        proto: ICMP,
        port: 0,
    };
    assert!(!filters["b"].go(&q));
    assert!(!q.table_allows(&table));
    // The reverse direction is open on TCP 22, so ICMP is too, as in Go.
    let back = Question {
        src: b,
        dst: a,
        ..q
    };
    assert!(back.table_allows(&table));
}

// The conformance captures.

/// Questions per node of a conformance case.
const QUESTIONS_PER_NODE: usize = 8;

#[test]
fn table_answers_as_tailscale_filters_on_the_captured_filters() {
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let Some(dir) = corpus::shared_beside(&checkout, "conformance") else {
        return;
    };
    let seed: u64 = std::env::var("ORACLE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    let mut tally = Tally::default();
    let mut cases = 0;
    let mut compiled_apart = 0;
    for (i, (path, case)) in capture::cases(&dir).enumerate() {
        let Some(captures) = case["captures"].as_object() else {
            continue;
        };
        if case["api_response_code"] != 200 {
            continue;
        }
        let text = case["policy_text"].as_str().unwrap();
        let tailnet = capture::tailnet_of(&case);
        let options = Options {
            tailnet: Some(&tailnet),
            ..Default::default()
        };
        // Accepted by the control plane (code 200), so valid here too, its own tests aside.
        let policy = validate_text(text, &options)
            .into_validated_rules()
            .unwrap();
        let table = DecisionTable::build(&policy, &tailnet);
        // The table is compared with Go's filter over the captured rules; where tailgrant
        // compiles other rules than the control plane did (the conformance report counts
        // those cases), the two would differ for that reason alone, so the case is left out.
        let compiled = compile_filters(&policy, &tailnet);
        let same_rules = captures.iter().all(|(name, c)| {
            let ours = compiled
                .nodes
                .get(name)
                .map(|n| serde_json::to_value(&n.packet_filter_rules).unwrap());
            capture::norm_rules(ours.as_ref()) == capture::norm_rules(c.get("packet_filter_rules"))
        });
        if !same_rules {
            compiled_apart += 1;
            continue;
        }
        let filters = filters_of(
            captures
                .iter()
                .map(|(name, c)| (name.clone(), c["packet_filter_rules"].to_string())),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let count = QUESTIONS_PER_NODE * tailnet.nodes.len().max(1);
        let case_seed = seed.wrapping_add(i as u64);
        if let Err(e) = ask(&table, &tailnet, &filters, case_seed, count, &mut tally) {
            panic!(
                "{}: {e}\n(run seed {seed}: ORACLE_SEED={seed} cargo test -p tailgrant-oracle)",
                path.display()
            );
        }
        cases += 1;
    }
    println!(
        "{cases} captured cases ({compiled_apart} left out: tailgrant compiles other rules), {} questions, {} allowed, exceptions {:?} (seed {seed})",
        tally.questions, tally.allowed, tally.exceptions
    );
    assert!(
        compiled_apart * 20 <= cases,
        "{compiled_apart} of {cases} cases compile to other rules than captured"
    );
    assert!(tally.questions >= 10_000, "{} questions", tally.questions);
    assert!(
        tally.allowed * 20 >= tally.questions,
        "too few allowed questions: {tally:?}"
    );
}
