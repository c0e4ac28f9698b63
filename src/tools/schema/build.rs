//! The builders the schema is written with: objects whose fields match without regard to
//! case, dictionaries, nullable lists and the keywords editors read.

use serde_json::{json, Map, Value};

use super::patterns::PROTO;

/// An object with known fields: others are rejected, and other spellings of the known ones
/// (which Tailscale accepts, matching without case) are marked deprecated.
pub(super) fn object(description: &str, fields: Vec<(&str, Value)>) -> Value {
    let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    let other_spelling = other_spelling(&names);
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

/// The pattern of the other spellings of `names`: any case but the documented one.
fn other_spelling(names: &[&str]) -> String {
    let exact = names.join("|");
    let any_case: Vec<String> = names.iter().map(|n| any_case(n)).collect();
    format!("^(?!(?:{exact})$)(?:{})$", any_case.join("|"))
}

/// Narrows an [`object`] to the fields in `keep` (in its order): the others become unknown
/// (rejected), and only the kept ones have other spellings; `required` keeps the kept ones.
pub(super) fn keep_fields(schema: &mut Value, keep: &[&str]) {
    let Value::Object(map) = schema else {
        return;
    };
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        props.retain(|name, _| keep.contains(&name.as_str()));
        let names: Vec<&str> = props.keys().map(String::as_str).collect();
        let pattern = other_spelling(&names);
        if let Some(Value::Object(patterns)) = map.get_mut("patternProperties") {
            let renamed: Vec<(String, Value)> = std::mem::take(patterns).into_iter().collect();
            for (_, spelling) in renamed {
                patterns.insert(pattern.clone(), spelling);
            }
        }
    }
    if let Some(Value::Array(required)) = map.get_mut("required") {
        required.retain(|name| name.as_str().is_some_and(|n| keep.contains(&n)));
    }
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
