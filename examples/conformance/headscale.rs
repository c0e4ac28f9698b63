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
    /// Headscale's expected outputs, when the test has them.
    #[serde(default)]
    want: Option<serde_json::Value>,
    /// The test's other inputs (`node`: the node whose filter `want` is).
    #[serde(default)]
    inputs: Option<serde_json::Value>,
    /// The Go type of each field of the test's table.
    #[serde(default)]
    table_fields: Option<serde_json::Value>,
    /// The top-level sections of the policy.
    #[serde(default)]
    sections: Vec<String>,
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
                    // A node the test builds without a name is named by its address.
                    let name = n
                        .get("given_name")
                        .or_else(|| n.get("hostname"))
                        .or_else(|| n.get("ipv4"))?;
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
    let users: Vec<serde_json::Value> = users
        .iter()
        .filter(|u| u.is_object())
        .map(|u| {
            let mut u = u.clone();
            // Headscale's listing says `provider_id` for `User.ProviderIdentifier`, a
            // `sql.NullString` the cases give as a string or as `{"String", "Valid"}`.
            if let Some(obj) = u.as_object_mut() {
                if let Some(p) = obj.remove("provider_identifier") {
                    let id = match &p {
                        serde_json::Value::String(s) => Some(s.clone()),
                        serde_json::Value::Object(o)
                            if o.get("Valid") != Some(&serde_json::Value::Bool(false)) =>
                        {
                            o.get("String").and_then(|s| s.as_str()).map(str::to_string)
                        }
                        _ => None,
                    };
                    if let Some(id) = id {
                        obj.insert("provider_id".into(), id.into());
                    }
                }
            }
            u
        })
        .collect();
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

/// Agreement on one kind of compiled output.
#[derive(Default)]
struct Tally {
    compared: usize,
    ok: usize,
    /// Cases left out, with why.
    skipped: Vec<String>,
    disagreements: Vec<String>,
}

/// The compiled outputs compared: packet filters and node capability maps.
#[derive(Default)]
struct Outputs {
    filters: Tally,
    capmaps: Tally,
}

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
    let mut outputs = Outputs::default();
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
            &mut outputs,
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
    println!();
    println!(
        "{:<12} {:>8} {:>16} {:>8}",
        "output", "compared", "agreement", "skipped"
    );
    for (name, t) in [("filters", &outputs.filters), ("capmaps", &outputs.capmaps)] {
        println!(
            "{:<12} {:>8} {:>16} {:>8}",
            name,
            t.compared,
            super::ratio(t.ok, t.compared),
            t.skipped.len()
        );
    }
    for (name, t) in [("filters", &outputs.filters), ("capmaps", &outputs.capmaps)] {
        let shown = if verbose { usize::MAX } else { 10 };
        super::print_disagreements(name, &t.disagreements, shown);
        super::print_disagreements(&format!("{name} skipped"), &t.skipped, shown);
    }
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
        (
            "filters",
            super::frac(outputs.filters.ok, outputs.filters.compared),
        ),
        (
            "capmaps",
            super::frac(outputs.capmaps.ok, outputs.capmaps.compared),
        ),
    ];
    super::meets_thresholds(&limits, &measured)
}

fn run_case(case: &Case, text: &str, want_err: bool, s: &mut Stage, outputs: &mut Outputs) {
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
    if let Some(expected) = super::headscale_outputs::expected(
        case.want.as_ref(),
        case.inputs.as_ref(),
        case.table_fields.as_ref(),
    ) {
        compare_outputs(case, &expected, report.clone(), tailnet.as_ref(), outputs);
    }
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

/// Compiles an accepted case's policy against its tailnet and compares what the case expects.
fn compare_outputs(
    case: &Case,
    expected: &super::headscale_outputs::Expected<'_>,
    report: tailgrant::validate::Report,
    tailnet: Option<&Tailnet>,
    outputs: &mut Outputs,
) {
    use super::headscale_outputs::{has_go, Expected, Outcome};
    let tally = match expected {
        Expected::CapMaps(_) => &mut outputs.capmaps,
        Expected::NodeFilter { .. } | Expected::GlobalFilter(_) => &mut outputs.filters,
    };
    let compared = match expected {
        Expected::NodeFilter { node, rules } => vec![*node, *rules],
        Expected::GlobalFilter(rules) => vec![*rules],
        Expected::CapMaps(want) => vec![*want],
    };
    let inputs = [case.users.as_ref(), case.nodes.as_ref()];
    // Groups and tags name users and nodes: without the case's, the test built its own
    // outside the case.
    let names_nodes = case
        .sections
        .iter()
        .any(|s| s == "groups" || s == "tagOwners");
    let outcome = if compared
        .into_iter()
        .chain(inputs.into_iter().flatten())
        .any(has_go)
    {
        Outcome::Skip("it holds Go values (`$go`) the extraction could not evaluate")
    } else if case.users.is_none() && case.nodes.is_none() && names_nodes {
        Outcome::Skip(
            "its groups or tags resolve through users and nodes the test builds outside the case",
        )
    } else if case.want_err == Some(true) {
        Outcome::Skip("Headscale rejects its policy")
    } else {
        let empty = Tailnet::default();
        let nodes: Vec<serde_json::Value> = case
            .nodes
            .as_ref()
            .and_then(|n| n.as_array())
            .cloned()
            .unwrap_or_default();
        match (
            report.into_validated_rules(),
            case.users.is_some() && tailnet.is_none(),
        ) {
            (_, true) => Outcome::Skip("its users and nodes do not make a tailnet"),
            (Ok(policy), false) => super::headscale_outputs::compare(
                expected,
                &policy,
                tailnet.unwrap_or(&empty),
                &nodes,
            ),
            (Err(f), false) => Outcome::Disagree(format!(
                "tailgrant rejects the policy ({})",
                f.errors.first().map_or("no error", |d| d.message.as_str())
            )),
        }
    };
    match outcome {
        Outcome::Agree => {
            tally.compared += 1;
            tally.ok += 1;
        }
        Outcome::Disagree(why) => {
            tally.compared += 1;
            tally.disagreements.push(format!("{}: {why}", case.id));
        }
        Outcome::Skip(why) => tally.skipped.push(format!("{}: {why}", case.id)),
    }
}
