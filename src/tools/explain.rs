//! Why may (or may not) a source reach a destination: the decision, the capabilities, the
//! rules that produced them, and for peer relays the whole checklist of SPEC section 4.

use crate::engine::resolve::Resolver;
use crate::engine::table::{DecisionTable, Dest, NodeIx, Query, RelayReason};
use crate::model::policy::Policy;
use crate::model::tailnet::Tailnet;
use crate::model::{Dialect, Validated};
use crate::span::Span;
use crate::vocab::{
    DISABLE_RELAY_CLIENT, DISABLE_RELAY_SERVER, ONLY_TCP_443, RELAY_CAP, RELAY_TARGET_CAP,
};
use std::net::IpAddr;

/// What is asked about the pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// Everything the source may do towards the destination.
    Any,
    /// May the source reach the destination on this protocol and port?
    Port {
        /// IP protocol number.
        proto: u8,
        /// Port (ignored for protocols without ports).
        port: u16,
    },
    /// Does the source hold this capability towards the destination?
    Cap(String),
    /// May the source use the destination as its peer relay?
    Relay,
}

/// One side of the question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// The node's name, when the address is a node's.
    pub node: Option<String>,
    /// The address used (a node's first address).
    pub addr: IpAddr,
}

/// One item of the relay checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckItem {
    /// Whether this condition holds.
    pub ok: bool,
    /// What was checked, and what was found.
    pub what: String,
    /// Where in the policy it is decided.
    pub spans: Vec<Span>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The source.
    pub src: Party,
    /// The destination.
    pub dst: Party,
    /// The decision on the question (for [`Question::Any`], whether anything is allowed).
    pub allowed: bool,
    /// Every capability the source holds towards the destination, with its values (JSON).
    pub caps: Vec<(String, String)>,
    /// The grants and ACL entries behind what the source may do towards the destination.
    pub origins: Vec<Span>,
    /// For [`Question::Relay`], the checklist; empty otherwise.
    pub relay_checklist: Vec<CheckItem>,
}

/// Finds a party: a node name of the tailnet, or an address.
fn party(
    tailnet: &Tailnet,
    table: &DecisionTable,
    what: &str,
) -> Result<(Party, Option<NodeIx>), String> {
    if let Some(node) = tailnet.nodes.get(what) {
        let addr = node
            .addresses()
            .next()
            .ok_or_else(|| format!("node `{what}` has no address in the tailnet file"))?;
        return Ok((
            Party {
                node: Some(what.to_string()),
                addr,
            },
            table.node(what),
        ));
    }
    let addr: IpAddr = what
        .parse()
        .map_err(|_| format!("`{what}` is neither a node of the tailnet nor an IP address"))?;
    let ix = table.node_for_addr(addr);
    let node = ix.and_then(|i| table.entry(i)).map(|e| e.name.clone());
    Ok((Party { node, addr }, ix))
}

/// Answers `question` for `src` towards `dst` (node names or addresses), by the rules of
/// the dialect the policy was checked under (for peer relays, what that control server
/// pushes for a relay grant). `table` is [`DecisionTable::build`] of the same policy.
pub fn explain(
    policy: &Validated,
    tailnet: &Tailnet,
    table: &DecisionTable,
    src: &str,
    dst: &str,
    question: &Question,
) -> Result<Explanation, String> {
    explain_in(policy, policy.dialect(), tailnet, table, src, dst, question)
}

/// [`explain`] of a decoded policy under `dialect`.
fn explain_in(
    policy: &Policy,
    dialect: Dialect,
    tailnet: &Tailnet,
    table: &DecisionTable,
    src: &str,
    dst: &str,
    question: &Question,
) -> Result<Explanation, String> {
    let (src_party, src_ix) = party(tailnet, table, src)?;
    let (dst_party, dst_ix) = party(tailnet, table, dst)?;
    let dst_ix = dst_ix
        .ok_or_else(|| format!("`{dst}` is not an address of any node or route of the tailnet"))?;
    // A node named by its name is decided by its own filter; an address by the node it
    // belongs to, or, inside a subnet route, by the router's rules for that address.
    let dest = match table.node(dst) {
        Some(ix) => Dest::Node(ix),
        None => Dest::Addr(dst_party.addr),
    };
    let decision = table.decide(&Query {
        src: src_party.addr,
        dst: dest,
    });
    let caps: Vec<(String, String)> = decision
        .caps()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let origins = decision.origins();
    let mut relay_checklist = Vec::new();
    let allowed = match question {
        Question::Any => !origins.is_empty() || !caps.is_empty(),
        Question::Port { proto, port } => decision.allows(*proto, *port),
        Question::Cap(name) => decision.has_cap(name),
        Question::Relay => {
            let src_ix = src_ix
                .ok_or_else(|| format!("`{src}` is not a node: only nodes allocate on relays"))?;
            relay_checklist = relay_checklist_for(
                policy, dialect, tailnet, table, src_ix, dst_ix, &src_party, &dst_party,
            );
            relay_checklist.iter().all(|c| c.ok)
        }
    };
    Ok(Explanation {
        src: src_party,
        dst: dst_party,
        allowed,
        caps,
        origins,
        relay_checklist,
    })
}

#[expect(
    clippy::too_many_arguments,
    reason = "the pair, its parties and the policy"
)]
fn relay_checklist_for(
    policy: &Policy,
    dialect: Dialect,
    tailnet: &Tailnet,
    table: &DecisionTable,
    client: NodeIx,
    relay: NodeIx,
    client_party: &Party,
    relay_party: &Party,
) -> Vec<CheckItem> {
    let name = |p: &Party| p.node.clone().unwrap_or_else(|| p.addr.to_string());
    let (c, r) = (name(client_party), name(relay_party));
    let decision = table.may_allocate(client, relay);
    let towards_relay = table.decide(&Query {
        src: client_party.addr,
        dst: Dest::Node(relay),
    });
    let granted = towards_relay.has_cap(RELAY_CAP);
    let target = table
        .decide(&Query {
            src: relay_party.addr,
            dst: Dest::Node(client),
        })
        .has_cap(RELAY_TARGET_CAP);
    let add_grant =
        format!("add a grant with `{c}` in src, `{r}` in dst and \"app\": {{\"{RELAY_CAP}\": []}}");
    let (grant_what, target_what) = match dialect {
        Dialect::Tailscale => (
            if granted {
                format!("`{c}` holds {RELAY_CAP} towards `{r}` (a grant with `{c}` in src and `{r}` in dst)")
            } else {
                format!("no grant gives `{c}` {RELAY_CAP} towards `{r}`: {add_grant}")
            },
            if target {
                format!("`{c}`'s filter gives `{r}` {RELAY_TARGET_CAP}, so `{c}` considers `{r}` a relay")
            } else {
                format!("`{c}`'s filter does not give `{r}` {RELAY_TARGET_CAP} (it comes with the relay grant), so `{c}` will not pick `{r}`")
            },
        ),
        // Headscale pushes the relay grant's capability in `r`'s filter (a `CapGrant` rule
        // from the grant's sources: hscontrol/policy/v2/compiled.go, `compileOtherDests`)
        // and, to `c`, the companion rule reversed: from `r`'s addresses, towards `c`'s
        // (filter.go, `companionCapGrantRules`). It also marks `r` a relay target, whose
        // going offline makes its clients recompute their peers (compiled.go,
        // `collectRelayTargetIPs`).
        Dialect::Headscale => (
            if granted {
                format!("Headscale pushes `{r}` a rule giving `{c}` {RELAY_CAP} (a grant with `{c}` in src and `{r}` in dst), and marks `{r}` a relay target")
            } else {
                format!("no grant gives `{c}` {RELAY_CAP} towards `{r}`, so Headscale pushes `{r}` no relay rule: {add_grant}")
            },
            if target {
                format!("Headscale pushes `{c}` the companion rule {RELAY_TARGET_CAP} from `{r}`'s addresses (the relay grant reversed), so `{c}` considers `{r}` a relay")
            } else {
                format!("Headscale pushes `{c}` no {RELAY_TARGET_CAP} rule from `{r}` (the relay grant brings it), so `{c}` will not pick `{r}`")
            },
        ),
    };
    let mut items = vec![CheckItem {
        ok: granted,
        what: grant_what,
        spans: if granted {
            towards_relay.origins()
        } else {
            Vec::new()
        },
    }];
    items.push(CheckItem {
        ok: target,
        what: target_what,
        spans: Vec::new(),
    });
    let disabled_span =
        (decision.reason == RelayReason::RelayServerDisabled).then(|| decision.grants.clone());
    let relay_attrs = node_attrs(policy, tailnet, relay_party);
    items.push(CheckItem {
        ok: disabled_span.is_none() && !relay_attrs.iter().any(|(a, _)| a == DISABLE_RELAY_SERVER),
        what: match &disabled_span {
            Some(_) => format!("`{r}` carries the node attribute {DISABLE_RELAY_SERVER}"),
            None => format!("`{r}` does not carry {DISABLE_RELAY_SERVER}"),
        },
        spans: disabled_span.unwrap_or_default(),
    });
    let client_attrs = node_attrs(policy, tailnet, client_party);
    for attr in [DISABLE_RELAY_CLIENT, ONLY_TCP_443] {
        let found: Vec<Span> = client_attrs
            .iter()
            .filter(|(a, _)| a == attr)
            .filter_map(|(_, s)| *s)
            .collect();
        let set = client_attrs.iter().any(|(a, _)| a == attr);
        items.push(CheckItem {
            ok: !set,
            what: if set {
                format!("`{c}` carries the node attribute {attr}, which stops it from using relays")
            } else {
                format!("`{c}` does not carry {attr}")
            },
            spans: found,
        });
    }
    let port = relay_party
        .node
        .as_deref()
        .and_then(|n| tailnet.nodes.get(n))
        .and_then(|n| n.relay.as_ref())
        .map(|r| r.port);
    items.push(CheckItem {
        ok: port.is_some(),
        what: match port {
            Some(p) => format!("`{r}` runs a relay server on UDP port {p}"),
            None => match dialect {
                Dialect::Tailscale => format!("the tailnet file gives `{r}` no relay port: run `tailscale set --relay-server-port=N` on it and add \"relay\": {{\"port\": N}} to its entry"),
                // Headscale's node listing does not carry the relay server port: the node
                // sets it itself and Headscale does not check it.
                Dialect::Headscale => format!("the tailnet gives `{r}` no relay port (Headscale's node listing does not carry it): run `tailscale set --relay-server-port=N` on `{r}` and describe it in a topology tailnet file with \"relay\": {{\"port\": N}}"),
            },
        },
        spans: Vec::new(),
    });
    items
}

/// The node attributes that apply to a party: from `nodeAttrs` (with the entry's span) and
/// from the tailnet file (no span).
fn node_attrs(policy: &Policy, tailnet: &Tailnet, party: &Party) -> Vec<(String, Option<Span>)> {
    let Some(name) = party.node.as_deref() else {
        return Vec::new();
    };
    let resolver = Resolver::new(policy, tailnet);
    let Some(id) = resolver.node_id(name) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Option<Span>)> = tailnet
        .nodes
        .get(name)
        .map(|n| n.attributes.iter().map(|a| (a.clone(), None)).collect())
        .unwrap_or_default();
    for na in &policy.node_attrs {
        if na
            .target
            .iter()
            .any(|t| resolver.node_in(id, &resolver.resolve_selector(t)))
        {
            out.extend(na.attr.iter().map(|a| (a.value.clone(), Some(na.span))));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(policy: &str) -> (Policy, Tailnet) {
        let tailnet = Tailnet::from_text(
            r#"{"tailnet": "a@example.com", "users": [{"name": "a", "email": "a@example.com"}],
                "nodes": {"laptop": {"ipv4": "100.64.0.1", "user": "a"},
                          "relay": {"ipv4": "100.64.0.2", "tags": ["tag:relay"], "relay": {"port": 7777}}}}"#,
        )
        .unwrap();
        let (p, errs) = crate::model::policy::parse_policy(policy).unwrap();
        assert!(errs.is_empty(), "{errs:?}");
        (p, tailnet)
    }

    #[test]
    fn relay_checklist_passes_with_a_grant() {
        let (p, t) = setup(
            r#"{"tagOwners": {"tag:relay": []},
                "grants": [{"src": ["a@example.com"], "dst": ["tag:relay"], "app": {"tailscale.com/cap/relay": []}}]}"#,
        );
        let table = DecisionTable::of_policy(&p, &t);
        let e = explain_in(
            &p,
            Dialect::Tailscale,
            &t,
            &table,
            "laptop",
            "relay",
            &Question::Relay,
        )
        .unwrap();
        assert!(e.allowed, "{:#?}", e.relay_checklist);
        assert!(!e.relay_checklist[0].spans.is_empty());
    }

    #[test]
    fn relay_checklist_names_the_missing_grant_and_the_attribute() {
        let (p, t) = setup(
            r#"{"tagOwners": {"tag:relay": []},
                "grants": [{"src": ["*"], "dst": ["*"], "ip": ["*"]}],
                "nodeAttrs": [{"target": ["a@example.com"], "attr": ["disable-relay-client"]}]}"#,
        );
        let table = DecisionTable::of_policy(&p, &t);
        let e = explain_in(
            &p,
            Dialect::Tailscale,
            &t,
            &table,
            "laptop",
            "relay",
            &Question::Relay,
        )
        .unwrap();
        assert!(!e.allowed);
        assert!(!e.relay_checklist[0].ok);
        assert!(e.relay_checklist[0].what.contains("add a grant"));
        let client = e
            .relay_checklist
            .iter()
            .find(|c| c.what.contains(DISABLE_RELAY_CLIENT))
            .unwrap();
        assert!(!client.ok);
        assert_eq!(client.spans.len(), 1);
    }

    #[test]
    fn port_questions_and_unknown_parties() {
        let (p, t) = setup(
            r#"{"grants": [{"src": ["a@example.com"], "dst": ["100.64.0.2"], "ip": ["tcp:22"]}]}"#,
        );
        let table = DecisionTable::of_policy(&p, &t);
        let yes = explain_in(
            &p,
            Dialect::Tailscale,
            &t,
            &table,
            "laptop",
            "relay",
            &Question::Port { proto: 6, port: 22 },
        )
        .unwrap();
        assert!(yes.allowed);
        assert_eq!(yes.origins.len(), 1);
        let no = explain_in(
            &p,
            Dialect::Tailscale,
            &t,
            &table,
            "laptop",
            "relay",
            &Question::Port { proto: 6, port: 23 },
        )
        .unwrap();
        assert!(!no.allowed);
        assert!(explain_in(
            &p,
            Dialect::Tailscale,
            &t,
            &table,
            "nowhere",
            "relay",
            &Question::Any
        )
        .is_err());
    }

    /// ICMP is open wherever any port is, as in Go's filter (`runIn4`/`runIn6` in
    /// `wgengine/filter/filter.go`, `matchIPsOnly` in `wgengine/filter/match.go`), and the
    /// grant that opens the port is the one shown.
    #[test]
    fn icmp_is_explained_by_the_grant_that_opens_any_port() {
        let (p, t) = setup(
            r#"{"grants": [{"src": ["a@example.com"], "dst": ["100.64.0.2"], "ip": ["tcp:22"]}]}"#,
        );
        let table = DecisionTable::of_policy(&p, &t);
        let icmp = Question::Port { proto: 1, port: 0 };
        let yes = explain_in(&p, Dialect::Tailscale, &t, &table, "laptop", "relay", &icmp).unwrap();
        assert!(yes.allowed);
        assert_eq!(yes.origins.len(), 1);
        let back =
            explain_in(&p, Dialect::Tailscale, &t, &table, "relay", "laptop", &icmp).unwrap();
        assert!(!back.allowed);
    }

    /// Under Headscale, the checklist says what Headscale pushes for a relay grant: the
    /// capability in the relay's filter and the reversed companion in the client's.
    #[test]
    fn relay_checklist_under_headscale_names_what_headscale_pushes() {
        let tailnet = Tailnet::from_text(
            r#"{"tailnet": "a@example.com", "users": [{"name": "a", "email": "a@example.com"}],
                "nodes": {"laptop": {"ipv4": "100.64.0.1", "user": "a"},
                          "relay": {"ipv4": "100.64.0.2", "tags": ["tag:relay"]}}}"#,
        )
        .unwrap();
        let with_grant = r#"{"tagOwners": {"tag:relay": ["a@example.com"]},
            "grants": [{"src": ["a@example.com"], "dst": ["tag:relay"], "app": {"tailscale.com/cap/relay": []}}]}"#;
        let without = r#"{"tagOwners": {"tag:relay": ["a@example.com"]},
            "grants": [{"src": ["*"], "dst": ["*"], "ip": ["*"]}]}"#;
        let run = |text: &str, dialect: Dialect| {
            let options = crate::validate::Options {
                tailnet: Some(&tailnet),
                dialect,
            };
            let policy = crate::validate::check_text(text, &options)
                .into_validated()
                .unwrap();
            let table = DecisionTable::build(&policy, &tailnet);
            explain(
                &policy,
                &tailnet,
                &table,
                "laptop",
                "relay",
                &Question::Relay,
            )
            .unwrap()
        };
        let hs = run(with_grant, Dialect::Headscale);
        assert!(hs.relay_checklist[0].ok && hs.relay_checklist[1].ok);
        assert!(hs.relay_checklist[0]
            .what
            .starts_with("Headscale pushes `relay`"));
        assert!(hs.relay_checklist[1].what.contains("companion rule"));
        // No port in this tailnet: the last item fails, with Headscale's reason.
        let port = hs.relay_checklist.last().unwrap();
        assert!(!port.ok && port.what.contains("Headscale's node listing"));
        assert!(!hs.allowed);
        // The same decisions as Tailscale's, in Tailscale's words there.
        let ts = run(with_grant, Dialect::Tailscale);
        let oks = |e: &Explanation| e.relay_checklist.iter().map(|c| c.ok).collect::<Vec<_>>();
        assert_eq!(oks(&hs), oks(&ts));
        assert!(!ts.relay_checklist[0].what.contains("Headscale"));
        let none = run(without, Dialect::Headscale);
        assert!(!none.relay_checklist[0].ok && !none.relay_checklist[1].ok);
        assert!(none.relay_checklist[0]
            .what
            .contains("Headscale pushes `relay` no relay rule"));
    }
}
