//! The JSON Schema (draft 2020-12) of the policy file, for editors: completion, hover
//! documentation and early marks on obvious mistakes.
//!
//! The schema is editor help, not the validator: `tailgrant check` is the strict one. So
//! its patterns only reject what Tailscale rejects too (a tag name that does not start with
//! a letter, an ACL destination without a port, a grant `ip` entry that is not `proto:ports`,
//! a capability name that is not `{domain}/{path}`), and they allow the surrounding spaces
//! the control plane trims. Every field may be `null`, which Tailscale reads as absent.
//!
//! Tailscale matches field names without regard to case (as Go's JSON decoder does), so
//! `"TagOwners"` is accepted. Each object lists its fields in their documented spelling and
//! marks any other spelling of them as deprecated, which editors show as a warning, in line
//! with tailgrant's lint `TG1009`; truly unknown fields are errors, as in Tailscale.
//!
//! Patterned strings carry `patternErrorMessage`, VS Code's own keyword, so that a mismatch
//! reads as advice rather than as a regular expression; other tools ignore it.
//!
//! Headscale reads the same file with a narrower shape: [`policy_schema_in`] with
//! [`Dialect::Headscale`] gives its schema (`headscale.rs`).
//!
//! The committed copies are `schema/policy.schema.json` and `schema/headscale.schema.json`;
//! `tests/schema.rs` fails when they drift from [`policy_schema_in`].

mod build;
mod defs;
mod headscale;
mod patterns;
mod top_level;

use serde_json::{json, Map, Value};

use crate::model::Dialect;
use build::object;
use top_level::top_level_fields;

/// Where the published schema lives; also its `$id`.
pub const SCHEMA_ID: &str = "https://tailgrant.dev/schema/policy.schema.json";

pub use headscale::SCHEMA_ID as HEADSCALE_SCHEMA_ID;

/// Builds the JSON Schema of the policy file as `dialect`'s control server reads it.
pub fn policy_schema_in(dialect: Dialect) -> Value {
    let mut schema = policy_schema();
    if dialect == Dialect::Headscale {
        headscale::narrow(&mut schema);
    }
    schema
}

/// Builds the JSON Schema of the policy file as Tailscale reads it.
pub fn policy_schema() -> Value {
    let defs = defs::defs();
    let mut schema = object(
        "A Tailscale tailnet policy file (HuJSON: JSON with comments and trailing commas).",
        top_level_fields(),
    );
    if let Value::Object(map) = &mut schema {
        let mut head = Map::new();
        head.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        head.insert("$id".into(), json!(SCHEMA_ID));
        head.insert("title".into(), json!("Tailscale policy file"));
        // VS Code's own keywords: HuJSON has comments and trailing commas.
        head.insert("allowComments".into(), json!(true));
        head.insert("allowTrailingCommas".into(), json!(true));
        head.append(map);
        head.insert("type".into(), json!("object"));
        head.insert("$defs".into(), Value::Object(defs));
        return Value::Object(head);
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_names_every_top_level_section() {
        let schema = policy_schema();
        let props = schema["properties"].as_object().unwrap();
        for key in crate::model::policy::TOP_LEVEL_FIELDS {
            assert!(props.contains_key(*key), "{key}");
        }
        assert_eq!(schema["$id"], SCHEMA_ID);
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn the_headscale_schema_drops_what_headscale_does_not_know() {
        let schema = policy_schema_in(Dialect::Headscale);
        let props = schema["properties"].as_object().unwrap();
        for gone in ["postures", "ipsets", "defaultSrcPosture", "derpMap"] {
            assert!(!props.contains_key(gone), "{gone}");
        }
        for kept in ["acls", "grants", "groups", "tagOwners", "ssh", "tests"] {
            assert!(props.contains_key(kept), "{kept}");
        }
        let grant = schema["$defs"]["grant"]["properties"].as_object().unwrap();
        assert!(!grant.contains_key("srcPosture"));
        assert!(grant.contains_key("via"));
        assert_eq!(schema["$id"], HEADSCALE_SCHEMA_ID);
        assert!(schema["$defs"].get("postureList").is_none());
        assert_eq!(policy_schema_in(Dialect::Tailscale), policy_schema());
    }
}
