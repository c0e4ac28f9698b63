//! Hover: what the thing under the cursor is, from the schema, the vocabulary, the
//! policy's own definitions and, with a tailnet, the nodes a selector names; and the
//! documentation of a finding's code.

use super::context::{self, Slot, Step};
use super::roles::{self, Role};
use super::{engine, Doc};
use crate::model::selector::{parse_alias, Alias};
use crate::model::tailnet::Tailnet;
use crate::vocab::descriptions as vocabulary;
use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind};

/// At most this many nodes are listed for a selector.
const NODES_SHOWN: usize = 20;

/// The hover at byte `offset`, if there is something to say.
pub(crate) fn hover(
    doc: &Doc<'_>,
    offset: usize,
    tailnet: Option<&Tailnet>,
    allow: &[String],
    dialect: crate::model::Dialect,
) -> Option<Hover> {
    let mut parts: Vec<String> = Vec::new();
    let ctx = context::at(doc.text, offset);
    let mut range = None;
    if let Some(token) = &ctx.token {
        range = Some(doc.range(token.span));
        let keys = ctx.keys();
        match ctx.slot {
            Slot::Key => parts.extend(about_key(doc.text, &ctx.path, &keys, &token.raw, tailnet)),
            Slot::Value => {
                parts.extend(about_value(doc.text, &ctx.path, &keys, &token.raw, tailnet))
            }
        }
    }
    if !doc.uri.as_str().ends_with(super::files::SIDECAR) {
        for d in engine::check_policy(doc.text, tailnet, allow, dialect).0 {
            if d.span.start <= offset && offset < d.span.end.max(d.span.start + 1) {
                if let Some(md) = engine::code_doc(d.code.id) {
                    parts.push(md.replacen("## ", "### ", 1));
                }
            }
        }
    }
    parts.dedup();
    if parts.is_empty() {
        return None;
    }
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: parts.join("\n\n---\n\n"),
        }),
        range,
    })
}

fn about_key(
    text: &str,
    path: &[Step],
    keys: &[String],
    key: &str,
    tailnet: Option<&Tailnet>,
) -> Option<String> {
    if roles::is_capability_key(keys) {
        return Some(match vocabulary::describe(key) {
            Some(what) => format!("**capability** `{key}`: grants {what}"),
            None => format!("**capability** `{key}`: an application capability, whose meaning the application on the destination defines"),
        });
    }
    if let Some(kind) = roles::definition_kind(keys) {
        let mut s = format!("**{}** `{key}`, defined here", kind.noun());
        if let Some(nodes) = nodes_text(text, key, tailnet) {
            s.push_str("\n\n");
            s.push_str(&nodes);
        }
        return Some(s);
    }
    let mut field = path.to_vec();
    field.push(Step::Key(key.to_string()));
    engine::description_at(&field).map(|d| format!("**`{key}`**: {d}"))
}

fn about_value(
    text: &str,
    path: &[Step],
    keys: &[String],
    raw: &str,
    tailnet: Option<&Tailnet>,
) -> Option<String> {
    let value = raw.trim();
    let role = roles::value_role(keys);
    let s = match role {
        Role::Selector(_) | Role::SelectorWithPorts(_) | Role::Tag | Role::IpsetEntry => {
            let alias = match (roles::reference(role, value), role) {
                (Some((range, _)), _) => value.get(range).unwrap_or(value),
                (None, Role::SelectorWithPorts(_)) => {
                    crate::model::selector::split_acl_dst(value).map_or(value, |(a, _)| a)
                }
                (None, _) => value,
            };
            let mut s = describe_selector(text, alias);
            if let Some(nodes) = nodes_text(text, alias, tailnet) {
                s.push_str("\n\n");
                s.push_str(&nodes);
            }
            s
        }
        Role::NodeAttribute => match vocabulary::describe(value) {
            Some(what) => format!("**node attribute** `{value}`: {what}"),
            None => format!("**node attribute** `{value}`"),
        },
        Role::Posture => format!("**posture** `{value}`, defined in `postures`"),
        Role::Protocol => match crate::vocab::PROTOCOLS
            .iter()
            .find(|(n, _)| value.starts_with(n))
        {
            Some((name, number)) => format!("**protocol** `{name}` (IP protocol {number})"),
            None => format!("**protocol** `{value}`"),
        },
        Role::User => format!("**user** `{value}`"),
        Role::Other => {
            return engine::description_at(path).map(str::to_string);
        }
    };
    Some(s)
}

fn describe_selector(text: &str, alias: &str) -> String {
    match parse_alias(alias) {
        Alias::Wildcard => "**`*`**: every node and approved route of the tailnet".to_string(),
        Alias::Autogroup(a) => match vocabulary::describe(&a) {
            Some(what) => format!("**autogroup** `{a}`: {what}"),
            None => format!("**autogroup** `{a}`: not one Tailscale defines"),
        },
        Alias::Group(g) => {
            let members = engine::policy(text).and_then(|p| {
                p.groups.iter().find(|(k, _)| k.value == g).map(|(_, m)| {
                    m.iter()
                        .map(|s| format!("`{}`", s.value))
                        .collect::<Vec<_>>()
                })
            });
            match members {
                Some(m) => format!("**group** `{g}`: {} member(s): {}", m.len(), m.join(", ")),
                None => format!("**group** `{g}`: not defined in `groups`"),
            }
        }
        Alias::Tag(t) => {
            let owners = engine::policy(text).and_then(|p| {
                p.tag_owners
                    .iter()
                    .find(|(k, _)| k.value == t)
                    .map(|(_, m)| {
                        m.iter()
                            .map(|s| format!("`{}`", s.value))
                            .collect::<Vec<_>>()
                    })
            });
            match owners {
                Some(o) if o.is_empty() => format!("**tag** `{t}`: applied by admins only"),
                Some(o) => format!("**tag** `{t}`: owned by {}", o.join(", ")),
                None => format!("**tag** `{t}`: not defined in `tagOwners`"),
            }
        }
        Alias::Host(h) => {
            let addr = engine::policy(text).and_then(|p| {
                p.hosts
                    .iter()
                    .find(|(k, _)| k.value == h)
                    .map(|(_, v)| v.value.clone())
            });
            match addr {
                Some(a) => format!("**host** `{h}`: `{a}`"),
                None => format!("**host** `{h}`: not defined in `hosts`"),
            }
        }
        Alias::Ipset(i) => format!("**ipset** `{i}`, defined in `ipsets`"),
        Alias::Service(s) => format!("**service** `{s}`: a Tailscale service"),
        Alias::Prefix(net) => format!("**address** `{net}`"),
        Alias::User(u) => format!("**user** `{u}`"),
        Alias::UserDomain(d) => format!("**users** of the domain `{d}`"),
    }
}

/// The nodes `selector` names in the tailnet, as a Markdown list.
fn nodes_text(text: &str, selector: &str, tailnet: Option<&Tailnet>) -> Option<String> {
    let tailnet = tailnet?;
    let policy = engine::policy(text)?;
    let nodes = engine::nodes_of(&policy, tailnet, selector);
    if nodes.is_empty() {
        return Some("Names no node of the tailnet.".to_string());
    }
    let mut s = format!("Names {} node(s) of the tailnet:\n", nodes.len());
    for (name, addrs) in nodes.iter().take(NODES_SHOWN) {
        s.push_str(&format!("- `{name}`: {}\n", addrs.join(", ")));
    }
    if nodes.len() > NODES_SHOWN {
        s.push_str(&format!("- and {} more\n", nodes.len() - NODES_SHOWN));
    }
    Some(s)
}
