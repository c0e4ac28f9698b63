//! Relay grant that reaches no node.
//!
//! **What:** with `--tailnet`, a grant of `tailscale.com/cap/relay` whose `dst` matches no
//! node of the tailnet.
//!
//! **Why:** the relay nodes are the grant's destinations. When none matches (a misspelt
//! tag, a relay not yet tagged), clients never see a relay and silently fall back to DERP,
//! which is the question users ask most: why is my peer relay not used?
//!
//! **Example:** with no node tagged `tag:relay`,
//! `{"src": ["autogroup:member"], "dst": ["tag:relay"], "app": {"tailscale.com/cap/relay": []}}`
//! warns.

use super::Rule;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::policy::Policy;
use crate::model::selector::Alias;
use crate::model::tailnet::{Node, Tailnet};

/// TG1007.
pub(crate) const RULE: Rule = Rule {
    code: codes::RELAY_WITHOUT_RELAY,
    run: |cx, out| {
        let (p, Some(tailnet)) = (cx.policy, cx.options.tailnet) else {
            return;
        };
        for g in p.relay_grants() {
            let any = g.dst.iter().any(|d| {
                tailnet
                    .nodes
                    .values()
                    .any(|n| may_match(p, tailnet, n, d.alias()))
            });
            if !any && !g.dst.is_empty() {
                let span = g.dst.first().map_or(g.span, |d| d.span);
                out.push(
                    Diagnostic::warning(codes::RELAY_WITHOUT_RELAY, "this relay grant's dst matches no node of the tailnet", span)
                        .with_label("no relay node here")
                        .with_help("tag the relay nodes (e.g. `tailscale set --advertise-tags=tag:relay`) or fix the dst"),
                );
            }
        }
    },
};

/// Whether `alias` may select `node`. Aliases this lint cannot judge count as matching, so
/// that it never warns wrongly.
fn may_match(p: &Policy, tailnet: &Tailnet, node: &Node, alias: &Alias) -> bool {
    let owner = tailnet.owner_email(node);
    match alias {
        Alias::Tag(t) => node.tags.contains(t),
        Alias::User(u) => owner == Some(u.as_str()),
        Alias::Group(g) => p
            .groups
            .iter()
            .filter(|(name, _)| name.value == *g)
            .any(|(_, members)| members.iter().any(|m| Some(m.trim()) == owner)),
        Alias::Autogroup(a) if a == "autogroup:tagged" => node.is_tagged(),
        Alias::Autogroup(a) if a == "autogroup:member" => !node.is_tagged(),
        Alias::Prefix(net) => node.addresses().any(|ip| net.contains(&ip)),
        _ => true,
    }
}
