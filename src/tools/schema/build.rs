//! The builders the schema is written with: objects whose fields match without regard to
//! case, dictionaries, nullable lists and the keywords editors read.

use serde_json::{json, Map, Value};

use super::patterns::PROTO;

/// An object with known fields: others are rejected, and other spellings of the known ones
/// (which Tailscale accepts, matching without case) are marked deprecated.
pub(super) fn object(description: &str, fields: Vec<(&str, Value)>) -> Value {
    let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    let exact = names.join("|");
    let any_case: Vec<String> = names.iter().map(|n| any_case(n)).collect();
    let other_spelling = format!("^(?!(?:{exact})$)(?:{})$", any_case.join("|"));
    let properties: Map<String, Value> = fields
        .into_iter()
        .map(|(name, schema)| (name.to_string(), schema))
        .collect();
    json!({
        "type": ["object", "null"],
        "description": description,
        "properties": properties,
        "patternProperties": {
            other_spelling: {
                "deprecated": true,
                "description": OTHER_SPELLING,
                "deprecationMessage": OTHER_SPELLING,
            },
        },
        "additionalProperties": false,
    })
}

const OTHER_SPELLING: &str = "a field in another case than documented: Tailscale accepts it (it matches field names without regard to case), but write it as documented";

/// A regular expression that matches `name` in any case.
pub(super) fn any_case(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// An object keyed by names (`propertyNames`), each value of one schema.
pub(super) fn dict(description: &str, names: Value, value: Value) -> Value {
    json!({
        "type": ["object", "null"],
        "description": description,
        "propertyNames": names,
        "additionalProperties": value,
    })
}

pub(super) fn nullable_list(description: &str, items: Value) -> Value {
    let mut v = json!({"type": ["array", "null"], "items": items});
    if !description.is_empty() {
        set(&mut v, "description", json!(description));
    }
    v
}

pub(super) fn boolean(description: &str) -> Value {
    json!({"type": ["boolean", "null"], "description": description})
}

pub(super) fn proto(description: &str) -> Value {
    json!({
        "type": ["string", "integer", "null"],
        "pattern": format!(r"^\s*{PROTO}\s*$"),
        "patternErrorMessage": "a protocol name (`tcp`, `udp`, `icmp`...) or a number 1-255",
        "minimum": 1,
        "maximum": 255,
        "description": format!("{description} A name (`tcp`, `udp`, `icmp`, `sctp`, `gre`, `esp`, `ah`...) or an IANA protocol number 1-255."),
        "examples": ["tcp", "udp", "icmp", 47],
    })
}

/// An old field name: `deprecationMessage` is VS Code's own keyword, shown as a warning.
pub(super) fn deprecated(mut schema: Value, description: &str) -> Value {
    set(&mut schema, "deprecated", json!(true));
    set(&mut schema, "deprecationMessage", json!(description));
    with_description(schema, description)
}

pub(super) fn with_description(mut schema: Value, description: &str) -> Value {
    set(&mut schema, "description", json!(description));
    schema
}

pub(super) fn with_examples(mut schema: Value, examples: Value) -> Value {
    set(&mut schema, "examples", examples);
    schema
}

pub(super) fn set(schema: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = schema {
        map.insert(key.to_string(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_case_matches_every_spelling() {
        assert_eq!(any_case("ip"), "[iI][pP]");
        assert_eq!(any_case("sshTests"), "[sS][sS][hH][tT][eE][sS][tT][sS]");
    }
}
