//! The policy file as Headscale reads it: the Tailscale schema narrowed to the sections and
//! fields of Headscale's policy structs, with Headscale's users and autogroups.
//!
//! Every list here comes from the json tags and validators of `hscontrol/policy/v2/types.go`
//! (and `test.go`) in juanfont/headscale. Headscale decodes with
//! `json.MatchCaseInsensitiveNames(true)` and `json.RejectUnknownMembers(true)`
//! (`policyJSONOpts`), so other spellings of a field stay marked as in the Tailscale schema
//! and every other field is unknown.

use serde_json::{json, Map, Value};

use super::build::{keep_fields, set};
use super::patterns::{PORTS, PROTO};
use crate::model::policy::headscale_fields;

/// A tag as Headscale's `Tag.Validate` (types.go) takes it: `tag:` and a letter first.
const TAG: &str = "tag:[A-Za-z].*";

/// Each definition of the schema narrowed to Headscale's fields, with the decoder's name of
/// the object whose fields it takes ([`headscale_fields`]: `ACL`, `Grant`, `SSH`,
/// `NodeAttrGrant`, `AutoApproverPolicy` of types.go, `PolicyTest` and `SSHPolicyTest` of
/// test.go). The schema and `check --dialect headscale` read the one list, so they cannot
/// disagree on a field.
const FIELDS: &[(&str, &str)] = &[
    ("acl", "an ACL"),
    ("grant", "a grant"),
    ("autoApprovers", "autoApprovers"),
    ("sshRule", "an SSH rule"),
    ("nodeAttr", "a nodeAttrs entry"),
    ("test", "a test"),
    ("sshTest", "an SSH test"),
];

/// The autogroups Headscale knows (`autogroups`, types.go); `AutoGroup.Validate` rejects
/// any other.
pub(super) const AUTOGROUPS: &[&str] = &[
    "internet",
    "member",
    "nonroot",
    "tagged",
    "self",
    "danger-all",
];

/// A Headscale alias (`parseAlias`, types.go): `*`, a user (any text with `@`: `isUser`),
/// `group:`, a [`TAG`], one of [`AUTOGROUPS`], an IP or CIDR,
/// (an IPv6 one in brackets, the prefix length inside or after them), or a host (no `@`, no
/// `:`: `isHost`). No ipsets, services or `user:` forms of their own.
fn selector() -> String {
    format!(
        r"(?:\*|{TAG}|autogroup:(?:{})|group:.+|[^@]*@[^@]*|\[?[0-9A-Fa-f:.]+(?:/[0-9]{{1,3}})?\]?|\[[0-9A-Fa-f:.]+\]/[0-9]{{1,3}}|[^@:]+)",
        AUTOGROUPS.join("|")
    )
}

/// Where the Headscale schema lives; also its `$id`.
pub const SCHEMA_ID: &str = "https://tailgrant.dev/schema/headscale.schema.json";

/// Narrows the Tailscale schema `schema` to Headscale's shape.
pub(super) fn narrow(schema: &mut Value) {
    keep_fields(schema, headscale_fields("the policy").unwrap_or_default());
    let Value::Object(map) = schema else {
        return;
    };
    map.insert("$id".into(), json!(SCHEMA_ID));
    map.insert("title".into(), json!("Headscale policy file"));
    map.insert(
        "description".into(),
        json!("A Headscale policy file (HuJSON: JSON with comments and trailing commas), as Headscale's policy v2 reads it. A user is written with `@`: `alice@` for a user without an e-mail address, else its e-mail address."),
    );
    if let Some(Value::Object(groups)) = map.get_mut("properties").and_then(|p| p.get_mut("groups"))
    {
        groups.insert(
            "additionalProperties".into(),
            json!({
                "type": ["array", "null"],
                "description": "The members of the group: users, each with `@` (`alice@`, or `alice@example.com`).",
                "items": {
                    "type": "string",
                    "pattern": "@",
                    "patternErrorMessage": "Headscale's group members are users, written with `@`: `alice@` (a user without an e-mail) or `alice@example.com`",
                    "examples": ["alice@", "alice@example.com"],
                },
            }),
        );
        groups.insert(
            "examples".into(),
            json!([{"group:eng": ["alice@", "bob@example.com"]}]),
        );
    }
    if let Some(Value::Object(owners)) = map
        .get_mut("properties")
        .and_then(|p| p.get_mut("tagOwners"))
        .and_then(|t| t.get_mut("propertyNames"))
    {
        owners.insert("pattern".into(), json!(format!("^{TAG}$")));
        owners.insert(
            "patternErrorMessage".into(),
            json!("tags are `tag:` then a letter, then anything"),
        );
    }
    if let Some(Value::Object(defs)) = map.get_mut("$defs") {
        narrow_defs(defs);
        defs.insert("owner".into(), owner());
    }
    narrow_owners(schema);
}

/// Tag owners and auto-approvers: [`owner`]s, not any selector.
fn narrow_owners(schema: &mut Value) {
    let tag_owners = "/properties/tagOwners/additionalProperties";
    if let Some(Value::Object(owners)) = schema.pointer_mut(tag_owners) {
        owners.insert("items".into(), json!({"$ref": "#/$defs/owner"}));
        owners.insert(
            "description".into(),
            json!("Who may apply the tag: users (with `@`), groups and other tags. Empty: only admins."),
        );
    }
    if let Some(routes) = schema.pointer_mut("/$defs/autoApprovers/properties/routes") {
        routes["additionalProperties"] = owners();
    }
    if let Some(exit) = schema.pointer_mut("/$defs/autoApprovers/properties/exitNode") {
        *exit = owners();
        exit["description"] =
            json!("Who may advertise an exit node that is approved automatically.");
    }
}

/// A tag owner or an auto-approver as Headscale reads one (`parseOwner`,
/// `parseAutoApprover`, types.go): a user (any text with `@`), a group or a tag.
fn owner() -> Value {
    json!({
        "type": "string",
        "pattern": "^(?:.*@.*|group:.+|tag:.+)$",
        "patternErrorMessage": "Headscale's tag owners and auto-approvers are users (with `@`: `alice@` or `alice@example.com`), groups and tags; no autogroup",
        "examples": ["alice@", "group:admins", "tag:ci"],
    })
}

/// A list of [`owner`]s.
fn owners() -> Value {
    json!({"type": ["array", "null"], "items": {"$ref": "#/$defs/owner"}})
}

fn narrow_defs(defs: &mut Map<String, Value>) {
    defs.remove("postureList");
    defs.remove("derpMap");
    for (name, object) in FIELDS {
        if let (Some(def), Some(keep)) = (defs.get_mut(*name), headscale_fields(object)) {
            keep_fields(def, keep);
            // Headscale matches names without case (`"Action"` is its `action`), which a
            // schema's `required` cannot say; `check --dialect headscale` reports a missing one.
            if let Value::Object(map) = def {
                map.remove("required");
            }
        }
    }
    // `ACL.UnmarshalJSON` (types.go) drops an ACL entry's keys that start with `#`.
    if let Some(Value::Object(patterns)) = defs
        .get_mut("acl")
        .and_then(|d| d.get_mut("patternProperties"))
    {
        patterns.insert(
            "^#".into(),
            json!({"description": "A comment kept as a field (headscale-admin writes them): Headscale drops it."}),
        );
    }
    // `Protocol.UnmarshalJSON` (types.go) takes `""` as no protocol.
    for name in ["acl", "test"] {
        if let Some(Value::Object(proto)) = defs
            .get_mut(name)
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.get_mut("proto"))
        {
            proto.insert("pattern".into(), json!(format!(r"^\s*{PROTO}?\s*$")));
        }
    }
    let alias = selector();
    if let Some(def) = defs.get_mut("selector") {
        set(def, "pattern", json!(format!(r"^\s*{alias}\s*$")));
        set(
            def,
            "description",
            json!(format!(
                "Who or what a rule applies to: `*`, a user with `@` (`alice@` for a user without an e-mail, else `alice@example.com`), `group:name`, `tag:name`, an autogroup ({}), a host from `hosts`, an IP or a CIDR.",
                AUTOGROUPS.iter().map(|a| format!("`autogroup:{a}`")).collect::<Vec<_>>().join(", ")
            )),
        );
        set(
            def,
            "patternErrorMessage",
            json!("not a Headscale alias: write `*`, a user with `@` (`alice@`), `group:x`, `tag:x` (a letter first), a known `autogroup:x`, a host, an IP or a CIDR (no port here)"),
        );
        set(
            def,
            "examples",
            json!([
                "group:eng",
                "tag:server",
                "autogroup:member",
                "alice@",
                "10.0.0.0/8"
            ]),
        );
    }
    for name in ["aclDestination", "testDestination"] {
        if let Some(def) = defs.get_mut(name) {
            set(def, "pattern", json!(format!(r"^\s*{alias}:{PORTS}\s*$")));
        }
    }
    if let Some(Value::Object(via)) = defs
        .get_mut("grant")
        .and_then(|d| d.get_mut("properties"))
        .and_then(|p| p.get_mut("via"))
        .and_then(|v| v.get_mut("items"))
    {
        via.insert("pattern".into(), json!(format!(r"^\s*{TAG}\s*$")));
    }
    for name in ["test", "sshTest"] {
        if let Some(Value::Object(src)) = defs
            .get_mut(name)
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.get_mut("src"))
        {
            src.insert("pattern".into(), json!(format!(r"^\s*{alias}\s*$")));
        }
    }
}
