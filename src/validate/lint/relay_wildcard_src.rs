//! Relay grant open to everyone.
//!
//! **What:** a grant of `tailscale.com/cap/relay` whose `src` holds `*`.
//!
//! **Why:** `*` includes every node and approved subnet route, tagged servers and shared-in
//! devices alike: any of them may allocate relay endpoints, which costs the relay's
//! bandwidth. Name the clients that need a relay instead.
//!
//! **Example:** `{"src": ["*"], "dst": ["tag:relay"], "app": {"tailscale.com/cap/relay": []}}`
//! warns; write `"src": ["autogroup:member"]`.

use super::Rule;
use crate::codes;
use crate::diagnostic::Diagnostic;

/// TG1006.
pub(crate) const RULE: Rule = Rule {
    code: codes::RELAY_WILDCARD_SRC,
    run: |cx, out| {
        for g in cx.policy.relay_grants() {
            for s in g.src.iter().filter(|s| s.trim() == "*") {
                out.push(
                    Diagnostic::warning(
                        codes::RELAY_WILDCARD_SRC,
                        "any node may allocate on these relays",
                        s.span,
                    )
                    .with_label("`*` in a relay grant")
                    .with_help(
                        "name the clients that need a relay, e.g. autogroup:member or a tag",
                    ),
                );
            }
        }
    },
};
