//! A capability in the `tailscale.com` domain that Tailscale does not document.
//!
//! **What:** a grant's `app` names a `tailscale.com/...` capability that is neither one
//! Tailscale tells users to grant (Taildrive, peer relays, the web UI, the Kubernetes
//! operator, tsidp, setec, golink, tailsql, proxy-to-grafana) nor one the control plane is
//! known to reject.
//!
//! **Why:** the control plane keeps the `tailscale.com` domain for Tailscale's own
//! capabilities and rejects some names in it; a name that no Tailscale program reads is
//! usually a typo (`tailscale.com/cap/golinks`) or a capability the control plane adds by
//! itself, and the grant then gives nothing.
//!
//! **Example:** `"app": {"tailscale.com/cap/drive-sharer": [{}]}` warns; grant
//! `tailscale.com/cap/drive`, which makes Tailscale add `drive-sharer` in reverse.

use super::Rule;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::vocab::{reserved_cap_help, TailscaleCap, GRANTABLE_TAILSCALE_CAPS};

/// TG1011.
pub(crate) const RULE: Rule = Rule {
    code: codes::UNKNOWN_TAILSCALE_CAPABILITY,
    run: |cx, out| {
        for g in &cx.policy.grants {
            for (name, _) in &g.app {
                if name.tailscale() != Some(TailscaleCap::Unknown) {
                    continue;
                }
                let near = crate::model::policy::suggest_name(
                    name.as_str(),
                    GRANTABLE_TAILSCALE_CAPS.iter().copied(),
                );
                let help = match near {
                    Some(near) => format!("did you mean `{near}`? ({})", reserved_cap_help(name)),
                    None => reserved_cap_help(name),
                };
                let d = Diagnostic::warning(
                    codes::UNKNOWN_TAILSCALE_CAPABILITY,
                    format!("`{}` is not a capability Tailscale documents", name.value),
                    name.span,
                )
                .with_label("unknown tailscale.com capability")
                .with_help(help);
                out.push(match near {
                    Some(near) => d.with_suggestion(name.as_str(), near),
                    None => d,
                });
            }
        }
    },
};
