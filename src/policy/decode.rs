//! From the HuJSON tree to the typed [`Policy`]: unknown keys and wrong shapes are reported
//! at their span, and decoding goes on so that every problem is found in one run.

use super::{Acl, AutoApprovers, Grant, Map, NodeAttr, Policy, PolicyTest, SshRule, SshTest, Str};
use crate::diagnostic::Diagnostic;
use crate::hujson::{self, Member, Node, Value};
use crate::span::Spanned;

/// Parses policy text into a [`Policy`]. A syntax error leaves no policy; otherwise every
/// decoding problem is returned beside the (partial) policy.
pub fn parse_policy(text: &str) -> Result<(Policy, Vec<Diagnostic>), Diagnostic> {
    let (node, mut findings) = hujson::parse(text)?;
    let (policy, more) = from_node(&node);
    findings.extend(more);
    Ok((policy, findings))
}

/// Decodes a parsed tree into a [`Policy`], with the problems found.
pub fn from_node(node: &Node) -> (Policy, Vec<Diagnostic>) {
    let mut d = Decoder::default();
    let mut p = Policy::default();
    d.fields(node, "the policy", TOP, |d, key, v| match key {
        "acls" => p.acls = d.list(v, acl),
        "grants" => p.grants = d.list(v, grant),
        "groups" => p.groups = d.map(v, |d, v| d.strings(v)),
        "hosts" => p.hosts = d.map(v, |d, v| d.string(v).unwrap_or_default()),
        "tagOwners" => p.tag_owners = d.map(v, |d, v| d.strings(v)),
        "autoApprovers" => p.auto_approvers = Some(auto_approvers(d, v)),
        "ssh" => p.ssh = d.list(v, ssh_rule),
        "nodeAttrs" => p.node_attrs = d.list(v, node_attr),
        "postures" => p.postures = d.map(v, |d, v| d.strings(v)),
        "defaultSrcPosture" => p.default_src_posture = d.strings(v),
        "ipsets" => p.ipsets = d.map(v, |d, v| d.strings(v)),
        "tests" => p.tests = d.list(v, policy_test),
        "sshTests" => p.ssh_tests = d.list(v, ssh_test),
        "derpMap" => p.derp_map = Some(v.to_json()),
        "attrConfig" => p.attr_config = Some(v.to_json()),
        _ => {
            if let Some(b) = d.boolean(v) {
                p.switches.push((Spanned::new(key.to_string(), v.span), b));
            }
        }
    });
    if let Value::Object(members) = &node.value {
        p.sections = members.iter().map(|m| m.key.clone()).collect();
    }
    (p, d.findings)
}

/// The top-level fields of a policy file.
pub(crate) const TOP: &[&str] = &[
    "acls",
    "grants",
    "groups",
    "hosts",
    "tagOwners",
    "autoApprovers",
    "ssh",
    "nodeAttrs",
    "postures",
    "defaultSrcPosture",
    "ipsets",
    "tests",
    "sshTests",
    "derpMap",
    "attrConfig",
    "disableIPv4",
    "oneCGNATRoute",
    "randomizeClientPort",
];

fn acl(d: &mut Decoder, node: &Node) -> Acl {
    let mut a = Acl {
        span: node.span,
        ..Acl::default()
    };
    let keys = &[
        "action",
        "src",
        "users",
        "dst",
        "ports",
        "proto",
        "srcPosture",
    ];
    d.fields(node, "an ACL", keys, |d, key, v| match key {
        "action" => a.action = d.string(v),
        "src" | "users" => a.src.extend(d.strings(v)),
        "dst" | "ports" => a.dst.extend(d.strings(v)),
        // `"proto": ""` is the Go zero value, every protocol, as Tailscale's decoder reads
        // it (and Headscale's: hscontrol/policy/v2/types.go, `Protocol.validate`).
        "proto" => a.proto = d.string_or_number(v).filter(|p| !p.value.is_empty()),
        _ => a.src_posture = d.strings(v),
    });
    a
}

fn grant(d: &mut Decoder, node: &Node) -> Grant {
    let mut g = Grant {
        span: node.span,
        ..Grant::default()
    };
    let keys = &["src", "dst", "ip", "app", "srcPosture", "via"];
    d.fields(node, "a grant", keys, |d, key, v| match key {
        "src" => g.src = d.strings(v),
        "dst" => g.dst = d.strings(v),
        "ip" => g.ip = d.strings(v),
        "app" => {
            g.app_span = Some(v.span);
            g.app = d.map(v, |d, v| d.app_values(v));
        }
        "srcPosture" => g.src_posture = d.strings(v),
        _ => g.via = d.strings(v),
    });
    g
}

fn auto_approvers(d: &mut Decoder, node: &Node) -> AutoApprovers {
    let mut a = AutoApprovers::default();
    d.fields(
        node,
        "autoApprovers",
        &["routes", "exitNode", "services"],
        |d, key, v| match key {
            "routes" => a.routes = d.map(v, |d, v| d.strings(v)),
            "exitNode" => a.exit_node = d.strings(v),
            _ => a.services = Some(v.to_json()),
        },
    );
    a
}

fn ssh_rule(d: &mut Decoder, node: &Node) -> SshRule {
    let mut r = SshRule {
        span: node.span,
        users_span: node.span,
        ..SshRule::default()
    };
    let keys = &[
        "action",
        "src",
        "dst",
        "users",
        "checkPeriod",
        "acceptEnv",
        "recorder",
        "enforceRecorder",
        "srcPosture",
    ];
    d.fields(node, "an SSH rule", keys, |d, key, v| match key {
        "action" => r.action = d.string(v),
        "src" => r.src = d.strings(v),
        "dst" => r.dst = d.strings(v),
        "users" => {
            r.users_span = v.span;
            r.users = (v.value != Value::Null).then(|| d.strings(v));
        }
        "checkPeriod" => r.check_period = d.string(v),
        "acceptEnv" => r.accept_env = d.strings(v),
        "recorder" => r.recorder = d.strings(v),
        "enforceRecorder" => r.enforce_recorder = d.boolean(v),
        _ => r.src_posture = d.strings(v),
    });
    r
}

fn node_attr(d: &mut Decoder, node: &Node) -> NodeAttr {
    let mut n = NodeAttr {
        span: node.span,
        ..NodeAttr::default()
    };
    d.fields(
        node,
        "a nodeAttrs entry",
        &["target", "attr", "app", "ipPool"],
        |d, key, v| match key {
            "target" => n.target = d.strings(v),
            "attr" => n.attr = d.strings(v),
            "app" => n.app = Some(v.to_json()),
            _ => n.ip_pool = d.strings(v),
        },
    );
    n
}

fn policy_test(d: &mut Decoder, node: &Node) -> PolicyTest {
    let mut t = PolicyTest {
        span: node.span,
        ..PolicyTest::default()
    };
    let keys = &[
        "src",
        "user",
        "proto",
        "accept",
        "allow",
        "deny",
        "srcPostureAttrs",
    ];
    d.fields(node, "a test", keys, |d, key, v| match key {
        "src" | "user" => t.src = d.string(v),
        "proto" => t.proto = d.string_or_number(v).filter(|p| !p.value.is_empty()),
        "accept" | "allow" => t.accept.extend(d.strings(v)),
        "deny" => t.deny = d.strings(v),
        _ => t.src_posture_attrs = Some(v.to_json()),
    });
    t
}

fn ssh_test(d: &mut Decoder, node: &Node) -> SshTest {
    let mut t = SshTest {
        span: node.span,
        ..SshTest::default()
    };
    let keys = &["src", "dst", "accept", "check", "deny"];
    d.fields(node, "an SSH test", keys, |d, key, v| match key {
        "src" => t.src = d.string(v),
        "dst" => t.dst = d.strings(v),
        "accept" => t.accept = d.strings(v),
        "check" => t.check = d.strings(v),
        _ => t.deny = d.strings(v),
    });
    t
}

/// Collects problems while decoding.
#[derive(Default)]
struct Decoder {
    findings: Vec<Diagnostic>,
}

impl Decoder {
    fn type_error(&mut self, node: &Node, expected: &str) {
        self.findings.push(
            Diagnostic::error(
                "TG0102",
                format!("expected {expected}, found {}", describe(&node.value)),
                node.span,
            )
            .with_label(format!("expected {expected}"))
            .with_help(format!("write {expected} here")),
        );
    }

    /// Calls `f` for each known member of an object; reports unknown ones.
    fn fields(
        &mut self,
        node: &Node,
        what: &str,
        known: &[&str],
        mut f: impl FnMut(&mut Self, &str, &Node),
    ) {
        let Value::Object(members) = &node.value else {
            if node.value != Value::Null {
                self.type_error(node, &format!("an object for {what}"));
            }
            return;
        };
        for Member { key, value } in members {
            if known.contains(&key.as_str()) {
                f(self, key, value);
            } else if let Some(canonical) = known.iter().find(|k| k.eq_ignore_ascii_case(key)) {
                // Tailscale matches field names without regard to case, as Go's JSON does.
                self.findings.push(
                    Diagnostic::warning(
                        "TG1009",
                        format!(
                            "field \"{}\" is spelled \"{canonical}\" in Tailscale's documentation",
                            key.value
                        ),
                        key.span,
                    )
                    .with_label("non-canonical case")
                    .with_help(format!("write \"{canonical}\"")),
                );
                f(self, canonical, value);
            } else {
                self.findings.push(unknown_field(key, what, known));
            }
        }
    }

    fn list<T>(&mut self, node: &Node, item: impl Fn(&mut Self, &Node) -> T) -> Vec<T> {
        match &node.value {
            Value::Array(items) => items.iter().map(|n| item(self, n)).collect(),
            Value::Null => Vec::new(),
            _ => {
                self.type_error(node, "an array");
                Vec::new()
            }
        }
    }

    fn map<T>(&mut self, node: &Node, mut item: impl FnMut(&mut Self, &Node) -> T) -> Map<T> {
        match &node.value {
            Value::Object(members) => members
                .iter()
                .map(|m| (m.key.clone(), item(self, &m.value)))
                .collect(),
            Value::Null => Vec::new(),
            _ => {
                self.type_error(node, "an object");
                Vec::new()
            }
        }
    }

    fn string(&mut self, node: &Node) -> Option<Str> {
        match &node.value {
            Value::String(s) => Some(Spanned::new(s.clone(), node.span)),
            Value::Null => None,
            _ => {
                self.type_error(node, "a string");
                None
            }
        }
    }

    fn string_or_number(&mut self, node: &Node) -> Option<Str> {
        match &node.value {
            Value::Number(n) => Some(Spanned::new(n.clone(), node.span)),
            _ => self.string(node),
        }
    }

    fn strings(&mut self, node: &Node) -> Vec<Str> {
        self.list(node, |d, n| d.string(n))
            .into_iter()
            .flatten()
            .collect()
    }

    fn boolean(&mut self, node: &Node) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            Value::Null => None,
            _ => {
                self.type_error(node, "`true` or `false`");
                None
            }
        }
    }

    fn app_values(&mut self, node: &Node) -> Vec<serde_json::Value> {
        match &node.value {
            Value::Array(items) => {
                for item in items {
                    if !matches!(item.value, Value::Object(_)) {
                        self.type_error(item, "an object (capability values are objects)");
                    }
                }
                items.iter().map(Node::to_json).collect()
            }
            Value::Null => Vec::new(),
            _ => {
                self.type_error(node, "an array of objects");
                Vec::new()
            }
        }
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string \"{s}\""),
        other => format!("{} {}", article(other.kind()), other.kind()),
    }
}

const fn article(kind: &str) -> &'static str {
    match kind.as_bytes() {
        [b'a' | b'o', ..] => "an",
        _ => "a",
    }
}

fn unknown_field(key: &Str, what: &str, known: &[&str]) -> Diagnostic {
    let d = Diagnostic::error(
        "TG0101",
        format!("unknown field \"{}\"", key.value),
        key.span,
    )
    .with_label(format!("not a field of {what}"));
    match super::suggest_name(key, known.iter().copied()) {
        Some(s) => d
            .with_help(format!("did you mean \"{s}\"?"))
            .with_suggestion(&key.value, s),
        None => d.with_help(format!("the fields of {what} are: {}", known.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> (Policy, Vec<Diagnostic>) {
        parse_policy(text).unwrap()
    }

    #[test]
    fn old_names_are_accepted() {
        let (p, errs) = decode(
            r#"{"acls": [{"action": "accept", "users": ["a@x.com"], "ports": ["*:22"]}],
                "tests": [{"user": "a@x.com", "allow": ["b:22"]}]}"#,
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(p.acls[0].src[0].value, "a@x.com");
        assert_eq!(p.acls[0].dst[0].value, "*:22");
        assert_eq!(p.tests[0].accept[0].value, "b:22");
    }

    #[test]
    fn unknown_keys_get_a_suggestion_at_their_span() {
        let text = r#"{"grants": [{"src": ["*"], "dst": ["*"], "ips": ["*"]}], "tagOwner": {}}"#;
        let (_, errs) = decode(text);
        assert_eq!(errs.len(), 2);
        assert_eq!(&text[errs[0].span.start..errs[0].span.end], "\"ips\"");
        assert_eq!(errs[0].help.as_deref(), Some("did you mean \"ip\"?"));
        assert_eq!(errs[1].help.as_deref(), Some("did you mean \"tagOwners\"?"));
    }

    #[test]
    fn field_names_match_without_case_with_a_warning() {
        let (p, found) = decode(r#"{"TagOwners": {"tag:a": []}}"#);
        assert_eq!(p.tag_owners.len(), 1);
        assert_eq!(found.len(), 1);
        assert!(!found[0].is_error());
    }

    #[test]
    fn wrong_shapes_are_reported_and_decoding_goes_on() {
        let (p, errs) = decode(r#"{"groups": {"group:a": "x@y.com"}, "hosts": {"h": "1.2.3.4"}}"#);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].code, "TG0102");
        assert_eq!(p.hosts.len(), 1);
    }

    #[test]
    fn policies_compare_without_spans() {
        let (a, _) = decode(r#"{"hosts": {"h": "1.2.3.4"}}"#);
        let (b, _) = decode("{\n  // comment\n  \"hosts\": {\"h\": \"1.2.3.4\",},\n}");
        assert_eq!(a, b);
    }
}
