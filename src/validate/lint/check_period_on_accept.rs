//! `checkPeriod` on an `accept` rule.
//!
//! **What:** an SSH rule with `"action": "accept"` that sets `checkPeriod`.
//!
//! **Why:** only `check` rules ask the user to re-authenticate; on an `accept` rule the
//! period does nothing, so the rule is weaker than its author believes. Usually the action
//! was meant to be `check`.
//!
//! **Example:** `{"action": "accept", "checkPeriod": "1h", ...}` warns; write
//! `"action": "check"` or drop `checkPeriod`.

use super::Rule;
use crate::codes;
use crate::diagnostic::Diagnostic;

/// TG1010.
pub(crate) const RULE: Rule = Rule {
    code: codes::CHECK_PERIOD_ON_ACCEPT,
    run: |cx, out| {
        // Under Headscale the rule is an error (`validate::check::ssh`), not a lint.
        if cx.options.dialect == crate::model::Dialect::Headscale {
            return;
        }
        for r in &cx.policy.ssh {
            let accept = r.action.as_ref().is_some_and(|a| a.trim() == "accept");
            if let (true, Some(period)) = (accept, &r.check_period) {
                out.push(
                    Diagnostic::warning(codes::CHECK_PERIOD_ON_ACCEPT, "checkPeriod has no effect on an accept rule", period.span)
                        .with_label("ignored")
                        .with_help("make the rule `\"action\": \"check\"` to require re-authentication, or remove checkPeriod"),
                );
            }
        }
    },
};
