//! The report over Headscale's own policy cases (`../shared/headscale/cases.jsonl`, cases
//! taken from Headscale's Go tests with what Headscale expects of each): verdict agreement at
//! each case's stage and error-substring agreement, against the thresholds of
//! `conformance-thresholds-headscale.toml`.
//!
//! The cases are checked with the Headscale dialect (`Dialect::Headscale`, `check --dialect
//! headscale`), against the users and nodes a case builds when it builds any (given to the
//! checker as Headscale's own listings would give them).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use tailgrant::model::tailnet::Tailnet;
use tailgrant::model::Dialect;
use tailgrant::validate::{check_text, is_test_failure, Options};

#[derive(serde::Deserialize)]
struct Case {
    id: String,
    stage: String,
    want_err: Option<bool>,
    #[serde(default)]
    err_substrings: Vec<String>,
    #[serde(default)]
    policy_text: Option<String>,
    /// A `fragment` case inside a whole policy, when one can hold it.
    #[serde(default)]
    wrapped_policy: Option<String>,
    /// The users and nodes the test builds (Headscale's Go structs, as JSON).
    #[serde(default)]
    users: Option<serde_json::Value>,
    #[serde(default)]
    nodes: Option<serde_json::Value>,
}

/// The users and nodes a case builds, as the tailnet `headscale users list -o json` and
/// `headscale nodes list -o json` would give (the shapes `Tailnet::from_headscale` reads);
/// `None` when the case builds none, or builds what that shape cannot say.
fn tailnet_of(case: &Case) -> Option<Tailnet> {
    let users = case.users.as_ref().and_then(|u| u.as_array())?;
    let nodes: Vec<serde_json::Value> = case
        .nodes
        .as_ref()
        .and_then(|n| n.as_array())
        .map(|nodes| {
            nodes
                .iter()
                .filter_map(|n| {
                    let name = n.get("given_name").or_else(|| n.get("hostname"))?;
                    let ips: Vec<&serde_json::Value> =
                        ["ipv4", "ipv6"].iter().filter_map(|k| n.get(*k)).collect();
                    let mut out = serde_json::json!({
                        "id": n.get("id").cloned().unwrap_or_default(),
                        "given_name": name,
                        "ip_addresses": ips,
                        "tags": n.get("tags").cloned().unwrap_or_else(|| serde_json::json!([])),
                        "approved_routes": n.get("approved_routes").cloned().unwrap_or_else(|| serde_json::json!([])),
                        "available_routes": n.get("routable_ips").cloned().unwrap_or_else(|| serde_json::json!([])),
                    });
                    if let (Some(user), Some(obj)) = (n.get("user"), out.as_object_mut()) {
                        obj.insert("user".into(), user.clone());
                    }
                    Some(out)
                })
                .collect()
        })
        .unwrap_or_default();
    let users: Vec<serde_json::Value> = users.iter().filter(|u| u.is_object()).cloned().collect();
    Tailnet::from_headscale(
        &serde_json::Value::from(users).to_string(),
        &serde_json::Value::from(nodes).to_string(),
    )
    .ok()
}

/// The stages whose verdict a policy check decides: decoding and validation (`parse`), user
/// resolution and compilation (`manager`), and the evaluation of `tests` (`setpolicy`). A
/// `fragment` case counts when it comes wrapped in a whole policy.
const STAGES: &[&str] = &["parse", "manager", "setpolicy", "fragment"];

#[derive(Default)]
struct Stage {
    cases: usize,
    verdict_ok: usize,
    /// Rejected cases whose test names substrings of Headscale's error.
    with_substrings: usize,
    substrings_ok: usize,
    disagreements: Vec<String>,
    /// Rejected cases whose expected substrings are not all in tailgrant's messages.
    substring_misses: Vec<String>,
}

/// Reads the cases in `dir/cases.jsonl`, prints the report and checks the thresholds.
pub fn report(dir: &Path, thresholds: &Path, verbose: bool) -> ExitCode {
    let path = dir.join("cases.jsonl");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("conformance: cannot read {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let mut stages: BTreeMap<String, Stage> = BTreeMap::new();
    let mut skipped = 0;
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let case: Case = match serde_json::from_str(line) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("conformance: {}:{}: {e}", path.display(), n + 1);
                return ExitCode::from(2);
            }
        };
        let text = match case.stage.as_str() {
            "fragment" => case.wrapped_policy.as_deref(),
            _ => case.policy_text.as_deref(),
        };
        let (Some(want_err), Some(text), true) =
            (case.want_err, text, STAGES.contains(&case.stage.as_str()))
        else {
            skipped += 1;
            continue;
        };
        run_case(
            &case,
            text,
            want_err,
            stages.entry(case.stage.clone()).or_default(),
        );
    }
    let mut total = Stage::default();
    println!(
        "{:<12} {:>5} {:>16} {:>16}",
        "stage", "cases", "verdict", "error substrings"
    );
    for (name, s) in &stages {
        println!(
            "{:<12} {:>5} {:>16} {:>16}",
            name,
            s.cases,
            super::ratio(s.verdict_ok, s.cases),
            super::ratio(s.substrings_ok, s.with_substrings)
        );
        total.cases += s.cases;
        total.verdict_ok += s.verdict_ok;
        total.with_substrings += s.with_substrings;
        total.substrings_ok += s.substrings_ok;
    }
    println!(
        "{:<12} {:>5} {:>16} {:>16}",
        "all",
        total.cases,
        super::ratio(total.verdict_ok, total.cases),
        super::ratio(total.substrings_ok, total.with_substrings)
    );
    println!("({skipped} cases left out: server-level, without a verdict, or a fragment no policy can hold)");
    for (name, s) in &stages {
        super::print_disagreements(
            name,
            &s.disagreements,
            if verbose { usize::MAX } else { 10 },
        );
    }
    if verbose {
        for (name, s) in &stages {
            for miss in &s.substring_misses {
                println!("  {name} (substrings): {miss}");
            }
        }
    }
    let limits = super::read_thresholds(thresholds);
    let measured = [
        ("verdict", super::frac(total.verdict_ok, total.cases)),
        (
            "error_substrings",
            super::frac(total.substrings_ok, total.with_substrings),
        ),
    ];
    super::meets_thresholds(&limits, &measured)
}

fn run_case(case: &Case, text: &str, want_err: bool, s: &mut Stage) {
    s.cases += 1;
    let tailnet = tailnet_of(case);
    let options = Options {
        dialect: Dialect::Headscale,
        tailnet: tailnet.as_ref(),
    };
    let report = check_text(text, &options);
    // `manager` (the policy manager Headscale builds at start) compiles the policy without
    // evaluating `tests` and `sshTests`; `setpolicy` (what `headscale policy check` runs)
    // evaluates them, and `parse` checks their shape, which tailgrant reports as test
    // failures too.
    let evaluates_tests = case.stage != "manager";
    let errors: Vec<&str> = report
        .findings
        .errors
        .iter()
        .filter(|d| evaluates_tests || !is_test_failure(d))
        .map(|d| d.message.as_str())
        .collect();
    let rejected = !errors.is_empty();
    if rejected == want_err {
        s.verdict_ok += 1;
    } else {
        let first = errors.first().copied().unwrap_or("no error");
        s.disagreements.push(format!(
            "{}: Headscale {}, tailgrant {} ({first})",
            case.id,
            if want_err { "rejects" } else { "accepts" },
            if rejected { "rejects" } else { "accepts" },
        ));
    }
    if want_err && !case.err_substrings.is_empty() {
        s.with_substrings += 1;
        let all_found = case
            .err_substrings
            .iter()
            .all(|want| errors.iter().any(|m| m.contains(want.as_str())));
        if all_found {
            s.substrings_ok += 1;
        } else if rejected {
            s.substring_misses.push(format!(
                "{}: Headscale says {:?}, tailgrant {:?}",
                case.id, case.err_substrings, errors
            ));
        }
    }
}
