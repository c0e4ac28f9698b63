//! From the HuJSON tree to the typed [`Policy`]: unknown keys and wrong shapes are reported
//! at their span, and decoding goes on so that every problem is found in one run.

use super::{Acl, AutoApprovers, Grant, Map, NodeAttr, Policy, PolicyTest, SshRule, SshTest, Str};
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::selector::{CapName, Dst, IpEntry, IpsetEntry, Proto, Selector};
use crate::model::Dialect;
use crate::span::Spanned;
use crate::syntax::hujson::{self, Member, Node, Value};

/// Parses policy text into a [`Policy`]. A syntax error leaves no policy; otherwise every
/// decoding problem is returned beside the (partial) policy.
pub fn parse_policy(text: &str) -> Result<(Policy, Vec<Diagnostic>), Diagnostic> {
    parse_policy_in(text, Dialect::Tailscale)
}

/// [`parse_policy`] by the rules of `dialect`.
pub fn parse_policy_in(
    text: &str,
    dialect: Dialect,
) -> Result<(Policy, Vec<Diagnostic>), Diagnostic> {
    parse_policy_keeping_tree(text, dialect).map(|(policy, findings, _)| (policy, findings))
}

/// [`parse_policy_in`], handing back also the tree it decoded, emptied of the strings that
/// moved into the policy, for a caller that frees it later (the language server frees it
/// after it has published the findings).
pub(crate) fn parse_policy_keeping_tree(
    text: &str,
    dialect: Dialect,
) -> Result<(Policy, Vec<Diagnostic>, Node), Diagnostic> {
    let (mut node, mut findings) = hujson::parse(text)?;
    let (policy, more) = decode(&mut node, dialect);
    findings.extend(more);
    Ok((policy, findings, node))
}

/// Decodes a parsed tree into a [`Policy`], with the problems found. The tree is taken by
/// value: its strings move into the policy rather than being copied.
pub fn from_node(node: Node) -> (Policy, Vec<Diagnostic>) {
    from_node_in(node, Dialect::Tailscale)
}

/// [`from_node`] by the rules of `dialect`.
pub fn from_node_in(mut node: Node, dialect: Dialect) -> (Policy, Vec<Diagnostic>) {
    decode(&mut node, dialect)
}

/// Decodes `node`, moving its strings into the policy.
fn decode(node: &mut Node, dialect: Dialect) -> (Policy, Vec<Diagnostic>) {
    let mut d = Decoder {
        dialect,
        findings: Vec::new(),
    };
    let mut p = Policy::default();
    d.fields(node, "the policy", TOP, |d, key, v| match key {
        "acls" => p.acls = d.list(v, acl),
        "grants" => p.grants = d.list(v, grant),
        "groups" => p.groups = d.keyed_map(v, group_members),
        "hosts" => p.hosts = d.map(v, |d, v| d.string(v).unwrap_or_default()),
        "tagOwners" => p.tag_owners = d.map(v, |d, v| d.typed(v, d.selector())),
        "autoApprovers" => p.auto_approvers = Some(auto_approvers(d, v)),
        "ssh" => p.ssh = d.list(v, ssh_rule),
        "nodeAttrs" => p.node_attrs = d.list(v, node_attr),
        "postures" => p.postures = d.map(v, |d, v| d.strings(v)),
        "defaultSrcPosture" => p.default_src_posture = d.strings(v),
        "ipsets" => p.ipsets = d.map(v, |d, v| d.typed(v, IpsetEntry::new)),
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

/// The members of the group `name`.
fn group_members(d: &mut Decoder, name: &str, node: &mut Node) -> Vec<Spanned<Selector>> {
    if d.dialect == Dialect::Headscale && !matches!(node.value, Value::Array(_) | Value::Null) {
        // hscontrol/policy/v2/types.go, `Groups.UnmarshalJSON`: `ErrGroupValueNotArray`, with
        // the string itself or the Go type of another value.
        let got = match &node.value {
            Value::String(s) => format!("string: {s:?}"),
            Value::Number(_) => "float64".to_string(),
            Value::Bool(_) => "bool".to_string(),
            _ => "map[string]interface {}".to_string(),
        };
        d.findings.push(
            Diagnostic::error(
                codes::WRONG_TYPE,
                format!("group value must be an array of users: group {name:?} got {got}"),
                node.span,
            )
            .with_label("expected an array")
            .with_help("list the group's users in an array, e.g. [\"alice@example.com\"]"),
        );
        return Vec::new();
    }
    d.typed(node, d.selector())
}

fn acl(d: &mut Decoder, node: &mut Node) -> Spanned<Acl> {
    let mut a = Acl::default();
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
        "src" | "users" => a.src.extend(d.typed(v, d.selector())),
        "dst" | "ports" => a.dst.extend(d.typed(v, d.destination())),
        "proto" => a.proto = d.proto(v),
        _ => a.src_posture = d.strings(v),
    });
    Spanned::new(a, node.span)
}

fn grant(d: &mut Decoder, node: &mut Node) -> Spanned<Grant> {
    let mut g = Grant {
        app: Spanned::new(Vec::new(), node.span),
        ..Grant::default()
    };
    let keys = &["src", "dst", "ip", "app", "srcPosture", "via"];
    d.fields(node, "a grant", keys, |d, key, v| match key {
        "src" => g.src = d.typed(v, d.selector()),
        "dst" => g.dst = d.typed(v, d.selector()),
        "ip" => g.ip = d.typed(v, IpEntry::new),
        "app" => {
            let app = d.map(v, |d, v| d.app_values(v));
            let app = app
                .into_iter()
                .map(|(name, values)| (name.map(CapName::new), values))
                .collect();
            g.app = Spanned::new(app, v.span);
        }
        "srcPosture" => g.src_posture = d.strings(v),
        _ => g.via = d.typed(v, d.selector()),
    });
    Spanned::new(g, node.span)
}

fn auto_approvers(d: &mut Decoder, node: &mut Node) -> AutoApprovers {
    let mut a = AutoApprovers::default();
    d.fields(
        node,
        "autoApprovers",
        &["routes", "exitNode", "services"],
        |d, key, v| match key {
            "routes" => a.routes = d.map(v, |d, v| d.typed(v, d.selector())),
            "exitNode" => a.exit_node = d.typed(v, d.selector()),
            _ => a.services = Some(v.to_json()),
        },
    );
    a
}

fn ssh_rule(d: &mut Decoder, node: &mut Node) -> Spanned<SshRule> {
    let mut r = SshRule {
        users: Spanned::new(None, node.span),
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
        "src" => r.src = d.typed(v, d.selector()),
        "dst" => r.dst = d.typed(v, d.selector()),
        "users" => {
            r.users = Spanned::new((v.value != Value::Null).then(|| d.strings(v)), v.span);
        }
        "checkPeriod" => r.check_period = d.string(v),
        "acceptEnv" => r.accept_env = d.strings(v),
        "recorder" => r.recorder = d.strings(v),
        "enforceRecorder" => r.enforce_recorder = d.boolean(v),
        _ => r.src_posture = d.strings(v),
    });
    Spanned::new(r, node.span)
}

fn node_attr(d: &mut Decoder, node: &mut Node) -> Spanned<NodeAttr> {
    let mut n = NodeAttr::default();
    d.fields(
        node,
        "a nodeAttrs entry",
        &["target", "attr", "app", "ipPool"],
        |d, key, v| match key {
            "target" => n.target = d.typed(v, d.selector()),
            "attr" => n.attr = d.strings(v),
            "app" => n.app = Some(v.to_json()),
            _ => n.ip_pool = d.strings(v),
        },
    );
    Spanned::new(n, node.span)
}

fn policy_test(d: &mut Decoder, node: &mut Node) -> Spanned<PolicyTest> {
    let mut t = PolicyTest::default();
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
        "src" | "user" => t.src = d.string(v).map(|s| s.map(d.selector())),
        "proto" => t.proto = d.proto(v),
        "accept" | "allow" => t.accept.extend(d.typed(v, d.destination())),
        "deny" => t.deny = d.typed(v, d.destination()),
        _ => t.src_posture_attrs = Some(v.to_json()),
    });
    Spanned::new(t, node.span)
}

fn ssh_test(d: &mut Decoder, node: &mut Node) -> Spanned<SshTest> {
    let mut t = SshTest::default();
    let keys = &["src", "dst", "accept", "check", "deny"];
    d.fields(node, "an SSH test", keys, |d, key, v| match key {
        "src" => t.src = d.string(v).map(|s| s.map(d.selector())),
        "dst" => t.dst = d.typed(v, d.selector()),
        "accept" => t.accept = d.strings(v),
        "check" => t.check = d.strings(v),
        _ => t.deny = d.strings(v),
    });
    Spanned::new(t, node.span)
}

/// Collects problems while decoding.
struct Decoder {
    dialect: Dialect,
    findings: Vec<Diagnostic>,
}

impl Decoder {
    fn type_error(&mut self, node: &Node, expected: &str) {
        self.findings.push(
            Diagnostic::error(
                codes::WRONG_TYPE,
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
        node: &mut Node,
        what: &str,
        known: &[&str],
        mut f: impl FnMut(&mut Self, &str, &mut Node),
    ) {
        let Value::Object(members) = &mut node.value else {
            if node.value != Value::Null {
                self.type_error(node, &format!("an object for {what}"));
            }
            return;
        };
        let known = match self.dialect {
            Dialect::Tailscale => known,
            Dialect::Headscale => headscale_fields(what).unwrap_or(known),
        };
        for Member { key, value } in members.iter_mut() {
            // Headscale drops the keys of an ACL entry that start with `#`, comments kept as
            // fields (hscontrol/policy/v2/types.go, `ACL.UnmarshalJSON`).
            if self.dialect == Dialect::Headscale && what == "an ACL" && key.starts_with('#') {
                continue;
            }
            if known.contains(&key.as_str()) {
                f(self, key, value);
            } else if let Some(canonical) = known.iter().find(|k| k.eq_ignore_ascii_case(key)) {
                // Tailscale matches field names without regard to case, as Go's JSON does.
                self.findings.push(
                    Diagnostic::warning(
                        codes::FIELD_CASE,
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
                self.findings
                    .push(unknown_field(key, what, known, self.dialect));
            }
        }
    }

    fn list<T>(&mut self, node: &mut Node, item: impl Fn(&mut Self, &mut Node) -> T) -> Vec<T> {
        match &mut node.value {
            Value::Array(items) => items.iter_mut().map(|n| item(self, n)).collect(),
            Value::Null => Vec::new(),
            _ => {
                self.type_error(node, "an array");
                Vec::new()
            }
        }
    }

    fn map<T>(
        &mut self,
        node: &mut Node,
        mut item: impl FnMut(&mut Self, &mut Node) -> T,
    ) -> Map<T> {
        self.keyed_map(node, |d, _, v| item(d, v))
    }

    /// [`Decoder::map`] whose `item` is also told the key.
    fn keyed_map<T>(
        &mut self,
        node: &mut Node,
        mut item: impl FnMut(&mut Self, &str, &mut Node) -> T,
    ) -> Map<T> {
        match &mut node.value {
            Value::Object(members) => members
                .iter_mut()
                .map(|m| {
                    let value = item(self, &m.key.value, &mut m.value);
                    (std::mem::take(&mut m.key), value)
                })
                .collect(),
            Value::Null => Vec::new(),
            _ => {
                self.type_error(node, "an object");
                Vec::new()
            }
        }
    }

    fn string(&mut self, node: &mut Node) -> Option<Str> {
        match &mut node.value {
            Value::String(s) => Some(Spanned::new(std::mem::take(s), node.span)),
            Value::Null => None,
            _ => {
                self.type_error(node, "a string");
                None
            }
        }
    }

    fn string_or_number(&mut self, node: &mut Node) -> Option<Str> {
        match &mut node.value {
            Value::Number(n) => Some(Spanned::new(std::mem::take(n), node.span)),
            _ => self.string(node),
        }
    }

    /// How the dialect classifies a selector: Headscale reads anything with an `@` as a user
    /// first ([`Selector::headscale`]).
    fn selector(&self) -> fn(String) -> Selector {
        match self.dialect {
            Dialect::Tailscale => Selector::new,
            Dialect::Headscale => Selector::headscale,
        }
    }

    /// How the dialect splits a `host:ports` destination of an ACL or a test: Headscale
    /// reads `[v6]/len:ports` as a CIDR, in both places ([`Dst::headscale`];
    /// hscontrol/policy/v2/test.go, `parseDestinationAlias`, decodes a test's destination
    /// as an ACL's `AliasWithPorts`).
    fn destination(&self) -> fn(String) -> Dst {
        match self.dialect {
            Dialect::Tailscale => Dst::new,
            Dialect::Headscale => Dst::headscale,
        }
    }

    /// A list of strings, each parsed by `parse` into its typed value.
    fn typed<T>(&mut self, node: &mut Node, parse: impl Fn(String) -> T) -> Vec<Spanned<T>> {
        match &mut node.value {
            // One pass, into a list of the right size: the lists are many and short.
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(s) = self.string(item) {
                        out.push(s.map(&parse));
                    }
                }
                out
            }
            Value::Null => Vec::new(),
            _ => {
                self.type_error(node, "an array");
                Vec::new()
            }
        }
    }

    /// An IP protocol, a name or a number. `"proto": ""` is the Go zero value, every
    /// protocol, as Tailscale's decoder reads it (and Headscale's:
    /// hscontrol/policy/v2/types.go, `Protocol.validate`).
    fn proto(&mut self, node: &mut Node) -> Option<Spanned<Proto>> {
        self.string_or_number(node)
            .filter(|p| !p.value.is_empty())
            .map(|p| p.map(Proto::new))
    }

    fn strings(&mut self, node: &mut Node) -> Vec<Str> {
        self.typed(node, |s| s)
    }

    fn boolean(&mut self, node: &mut Node) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            Value::Null => None,
            _ => {
                self.type_error(node, "`true` or `false`");
                None
            }
        }
    }

    fn app_values(&mut self, node: &mut Node) -> Vec<serde_json::Value> {
        match &mut node.value {
            Value::Array(items) => {
                for item in items.iter() {
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

/// The fields Headscale decodes in each object, where they are fewer than Tailscale's: the
/// json tags of its structs (hscontrol/policy/v2/types.go: `Policy`, `ACL`, `Grant`,
/// `AutoApproverPolicy`, `SSH`, `NodeAttrGrant`; hscontrol/policy/v2/test.go: `PolicyTest`,
/// `SSHPolicyTest`), decoded with `RejectUnknownMembers` (`policyJSONOpts`).
pub(crate) fn headscale_fields(what: &str) -> Option<&'static [&'static str]> {
    Some(match what {
        "the policy" => &[
            "groups",
            "hosts",
            "tagOwners",
            "acls",
            "grants",
            "nodeAttrs",
            "autoApprovers",
            "ssh",
            "tests",
            "sshTests",
            "randomizeClientPort",
        ],
        "an ACL" => &["action", "proto", "src", "dst"],
        "a grant" => &["src", "dst", "ip", "app", "via"],
        "autoApprovers" => &["routes", "exitNode"],
        "an SSH rule" => &["action", "src", "dst", "users", "checkPeriod", "acceptEnv"],
        "a nodeAttrs entry" => &["target", "attr", "ipPool"],
        "a test" => &["src", "proto", "accept", "deny"],
        "an SSH test" => &["src", "dst", "accept", "deny", "check"],
        _ => return None,
    })
}

fn unknown_field(key: &Str, what: &str, known: &[&str], dialect: Dialect) -> Diagnostic {
    let message = match dialect {
        Dialect::Tailscale => format!("unknown field \"{}\"", key.value),
        // hscontrol/policy/v2/types.go, `unmarshalPolicy`: `ErrUnknownField` and the name.
        Dialect::Headscale => format!("unknown field: {:?}", key.value),
    };
    let d = Diagnostic::error(codes::UNKNOWN_FIELD, message, key.span)
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
    fn selectors_ports_and_protocols_are_typed_when_decoded() {
        use crate::model::selector::Alias;
        let (p, errs) = decode(
            r#"{"grants": [{"src": ["group:dev"], "dst": ["10.0.0.0/8"], "ip": ["tcp:22"]}],
                "acls": [{"action": "accept", "src": ["*"], "dst": ["tag:web:443"], "proto": "udp"}],
                "ipsets": {"ipset:a": ["remove 10.1.0.0/16"]}}"#,
        );
        assert!(errs.is_empty(), "{errs:?}");
        let g = &p.grants[0];
        assert_eq!(g.src[0].alias(), &Alias::Group("group:dev".into()));
        assert_eq!(
            g.dst[0].alias(),
            &Alias::Prefix("10.0.0.0/8".parse().unwrap())
        );
        assert_eq!(g.ip[0].spec().unwrap().ports[0].first, 22);
        let a = &p.acls[0];
        assert_eq!(a.src[0].alias(), &Alias::Wildcard);
        assert_eq!(a.dst[0].valid().unwrap().0.as_str(), "tag:web");
        assert_eq!(a.proto.as_ref().unwrap().protos().unwrap(), [17]);
        assert!(p.ipsets[0].1[0].removes());
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
        assert_eq!(errs[0].code, codes::WRONG_TYPE);
        assert_eq!(p.hosts.len(), 1);
    }

    /// One policy with an entry in every spanned section, written in two layouts.
    const EVERY_SECTION: &str = r#"{"acls": [{"action": "accept", "src": ["a@x.com"], "dst": ["tag:web:443"]}],
        "grants": [{"src": ["*"], "dst": ["tag:web"], "ip": ["tcp:443"], "app": {"x.com/cap/a": [{}]}}],
        "ssh": [{"action": "accept", "src": ["a@x.com"], "dst": ["tag:web"], "users": ["root"]}],
        "nodeAttrs": [{"target": ["*"], "attr": ["funnel"]}],
        "tests": [{"src": "a@x.com", "accept": ["tag:web:443"]}],
        "sshTests": [{"src": "a@x.com", "dst": ["tag:web"], "accept": ["root"]}]}"#;

    #[test]
    fn the_same_policy_laid_out_differently_decodes_equal() {
        let relaid = "// the same policy\n{\n  \"acls\": [\n    // one rule\n    {\"action\": \"accept\", \"src\": [\"a@x.com\"],\n     \"dst\": [\"tag:web:443\"],},\n  ],\n  \"grants\": [{\"src\": [\"*\"], \"dst\": [\"tag:web\"],\n    \"ip\": [\"tcp:443\"], \"app\": {\"x.com/cap/a\": [ {} ]}}],\n  \"ssh\": [{\"action\": \"accept\", \"src\": [\"a@x.com\"], \"dst\": [\"tag:web\"],\n    \"users\": [\"root\"]}],\n  \"nodeAttrs\": [{\"target\": [\"*\"], \"attr\": [\"funnel\"]}],\n  \"tests\": [{\"src\": \"a@x.com\", \"accept\": [\"tag:web:443\"]}],\n  \"sshTests\": [{\"src\": \"a@x.com\", \"dst\": [\"tag:web\"], \"accept\": [\"root\"]}],\n}\n";
        let (a, errs_a) = decode(EVERY_SECTION);
        let (b, errs_b) = decode(relaid);
        assert!(
            errs_a.is_empty() && errs_b.is_empty(),
            "{errs_a:?} {errs_b:?}"
        );
        assert_ne!(a.grants[0].span, b.grants[0].span, "the layouts differ");
        assert_ne!(a.ssh[0].users.span, b.ssh[0].users.span);
        assert_eq!(a, b);
    }

    #[test]
    fn a_policy_that_means_something_else_decodes_unequal() {
        let (a, _) = decode(EVERY_SECTION);
        for (from, to) in [
            (
                "tag:web:443\"]}],\n        \"grants",
                "tag:web:22\"]}],\n        \"grants",
            ),
            ("\"ip\": [\"tcp:443\"]", "\"ip\": [\"udp:443\"]"),
            ("\"x.com/cap/a\": [{}]", "\"x.com/cap/b\": [{}]"),
            ("\"users\": [\"root\"]", "\"users\": [\"admin\"]"),
            ("\"attr\": [\"funnel\"]", "\"attr\": [\"drive:share\"]"),
            ("\"accept\": [\"root\"]", "\"deny\": [\"root\"]"),
        ] {
            assert!(EVERY_SECTION.contains(from), "{from}");
            let (b, _) = decode(&EVERY_SECTION.replacen(from, to, 1));
            assert_ne!(a, b, "{from} -> {to}");
        }
    }

    #[test]
    fn policies_compare_without_spans() {
        let (a, _) = decode(r#"{"hosts": {"h": "1.2.3.4"}}"#);
        let (b, _) = decode("{\n  // comment\n  \"hosts\": {\"h\": \"1.2.3.4\",},\n}");
        assert_eq!(a, b);
    }
}
