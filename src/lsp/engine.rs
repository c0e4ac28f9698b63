//! The library's functions as the language server uses them, in one place: checking a
//! policy or an assertions file, formatting, the schema, code documentation, resolving a
//! selector against a tailnet. Every finding comes from the same functions as
//! `tailgrant check` and `tailgrant test`; nothing here decides validity on its own.

use super::context::Step;
use crate::diagnostic::Diagnostic;
use crate::model::policy::Policy;
use crate::model::tailnet::Tailnet;
use crate::model::Dialect;
use crate::span::Span;
use serde_json::Value;
use std::sync::OnceLock;

/// What a check of a policy leaves behind: the decoded policy and tree, which the caller
/// frees after it has published the findings, so that freeing them (a millisecond on a large
/// policy) does not delay the diagnostics.
pub(crate) struct Spent {
    _report: crate::validate::Report,
    _tree: Option<crate::syntax::hujson::Node>,
}

/// The findings of `tailgrant check` on `text`, errors first: the byte-order mark and UTF-8
/// checks, parsing, validation, `tests` with a tailnet, lints, suppression comments; the
/// warnings of the `allow`ed codes dropped (as `--allow` does). Also what to free once they
/// are published.
pub(crate) fn check_policy(
    text: &str,
    tailnet: Option<&Tailnet>,
    allow: &[String],
    dialect: Dialect,
) -> (Vec<Diagnostic>, Option<Spent>) {
    let text = match crate::syntax::hujson::text_of(text.as_bytes()) {
        Ok(t) => t,
        Err(d) => return (vec![d], None),
    };
    let options = crate::validate::Options { tailnet, dialect };
    let (mut report, tree) = crate::validate::check_text_keeping_tree(text, &options);
    let mut findings = std::mem::take(&mut report.findings);
    findings
        .warnings
        .retain(|d| !allow.iter().any(|a| a.eq_ignore_ascii_case(d.code.id)));
    let found = findings
        .errors
        .into_iter()
        .chain(findings.warnings)
        .collect();
    let spent = Spent {
        _report: report,
        _tree: tree,
    };
    (found, Some(spent))
}

/// The policy beside an assertions file, as far as the assertions need it.
pub(crate) struct PolicyInput<'a> {
    /// Its text.
    pub(crate) text: &'a str,
    /// The tailnet to compile it for.
    pub(crate) tailnet: &'a Tailnet,
    /// How it is named in help (its path).
    pub(crate) name: &'a str,
    /// The rules it is checked by.
    pub(crate) dialect: Dialect,
}

/// The findings on an assertions file, as `tailgrant test` reports them: a malformed file
/// (`TG0501`); with the policy and a tailnet, each failing assertion (`TG0502`), with the
/// policy's spans behind its answer. The assertions are not evaluated while the policy has
/// errors other than failing tests, as `tailgrant test` does not: the `Err` says why they
/// were not (also when `policy` is an `Err`).
pub(crate) fn check_assertions(
    text: &str,
    policy: Result<PolicyInput<'_>, String>,
) -> Result<Vec<(Diagnostic, Vec<Span>)>, String> {
    if let Err(d) = crate::tools::assertions::parse_assertions(text) {
        return Ok(vec![(d, Vec::new())]);
    }
    let input = policy?;
    let options = crate::validate::Options {
        tailnet: Some(input.tailnet),
        dialect: input.dialect,
    };
    let report = crate::validate::check_text(input.text, &options);
    let policy = report.policy().filter(|_| {
        report
            .findings
            .errors
            .iter()
            .all(|d| d.code == crate::codes::TEST_FAILED)
    });
    let Some(policy) = policy else {
        return Err(format!("{} has errors; fix them first", input.name));
    };
    let lines = crate::span::LineIndex::new(input.text);
    let place = |span: Span| {
        let (l, c) = lines.position(input.text, span.start);
        format!("{}:{l}:{c}", input.name)
    };
    Ok(
        match crate::tools::assertions::run_assertions(policy, input.tailnet, text) {
            Err(d) => vec![(d, Vec::new())],
            Ok(failures) => failures
                .iter()
                .map(|f| {
                    (
                        crate::tools::assertions::failure_diagnostic(f, place),
                        f.policy_spans.clone(),
                    )
                })
                .collect(),
        },
    )
}

/// The HuJSON tree of `text`, when it parses.
pub(crate) fn tree(text: &str) -> Option<crate::syntax::hujson::Node> {
    crate::syntax::hujson::parse(text)
        .ok()
        .map(|(node, _)| node)
}

/// The decoded policy of `text`, when it parses (shape errors aside).
pub(crate) fn policy(text: &str) -> Option<Policy> {
    crate::model::policy::parse_policy(text)
        .ok()
        .map(|(p, _)| p)
}

/// `tailgrant fmt`'s output for `text`, or why it cannot be formatted.
pub(crate) fn format(text: &str) -> Result<String, Diagnostic> {
    crate::syntax::fmt::format(text)
}

/// The documentation of a diagnostic code, as Markdown.
pub(crate) fn code_doc(code: &str) -> Option<String> {
    crate::codes::lookup(code).map(|d| d.markdown())
}

/// The link to a code's documentation.
pub(crate) fn code_uri(code: &str) -> String {
    crate::codes::help_uri(code)
}

/// IP protocol names.
pub(crate) fn protocols() -> impl Iterator<Item = &'static str> {
    crate::vocab::PROTOCOLS.iter().map(|(name, _)| *name)
}

fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(crate::tools::schema::policy_schema)
}

/// Follows `$ref`s to `#/$defs/...`.
fn resolved(mut node: &'static Value) -> &'static Value {
    for _ in 0..8 {
        let Some(target) = node
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
            .and_then(|name| schema().get("$defs")?.get(name))
        else {
            break;
        };
        node = target;
    }
    node
}

/// The branches of a schema node: itself, or each of its `anyOf`/`oneOf`.
fn branches(node: &'static Value) -> Vec<&'static Value> {
    let node = resolved(node);
    let mut out = vec![node];
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(list) = node.get(key).and_then(Value::as_array) {
            out.extend(list.iter().map(resolved));
        }
    }
    out
}

fn child(node: &'static Value, step: &Step) -> Option<&'static Value> {
    branches(node).into_iter().find_map(|b| match step {
        Step::Item => b.get("items"),
        Step::Key(k) => b
            .get("properties")
            .and_then(Value::as_object)
            .and_then(|props| {
                props
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(k))
                    .map(|(_, v)| v)
            })
            .or_else(|| b.get("additionalProperties").filter(|v| v.is_object())),
    })
}

fn schema_at(path: &[Step]) -> Option<&'static Value> {
    path.iter().try_fold(schema(), child)
}

/// The fields the schema gives the object at `path`, with their descriptions.
pub(crate) fn fields_at(path: &[Step]) -> Vec<(&'static str, &'static str)> {
    let Some(node) = schema_at(path) else {
        return Vec::new();
    };
    branches(node)
        .into_iter()
        .filter_map(|b| b.get("properties").and_then(Value::as_object))
        .flat_map(|props| {
            props.iter().map(|(name, v)| {
                let description = branches(v)
                    .into_iter()
                    .find_map(|b| b.get("description").and_then(Value::as_str))
                    .unwrap_or_default();
                (name.as_str(), description)
            })
        })
        .collect()
}

/// The schema's description of the value at `path`.
pub(crate) fn description_at(path: &[Step]) -> Option<&'static str> {
    let node = schema_at(path)?;
    node.get("description").and_then(Value::as_str).or_else(|| {
        branches(node)
            .into_iter()
            .find_map(|b| b.get("description").and_then(Value::as_str))
    })
}

/// The tailnet nodes a selector names, with their addresses, in the tailnet's order.
pub(crate) fn nodes_of(
    policy: &Policy,
    tailnet: &Tailnet,
    selector: &str,
) -> Vec<(String, Vec<String>)> {
    let r = crate::engine::resolve::Resolver::new(policy, tailnet);
    let set = r.resolve(selector.trim());
    r.nodes_in(&set)
        .into_iter()
        .filter_map(|id| {
            let (name, node) = r.nodes().get(id)?;
            let addrs = node.addresses().map(|a| a.to_string()).collect();
            Some(((*name).to_string(), addrs))
        })
        .collect()
}

/// Reads a tailnet file.
pub(crate) fn tailnet(text: &str) -> Result<Tailnet, String> {
    Tailnet::from_text(text).map_err(|e| e.to_string())
}
