//! Lints: findings Tailscale accepts but that are likely mistakes. Each rule is one module
//! whose doc comment is its documentation; [`RULES`] is the registry.

mod check_period_on_accept;
mod duplicate_selector;
mod field_case;
mod redundant_rule;
mod relay_wildcard_src;
mod relay_without_relay;
mod unknown_tailscale_capability;
mod unused;

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::model::names::Names;
use crate::model::policy::Policy;
use crate::model::selector::{Dst, Selector};
use crate::span::Spanned;

use crate::validate::options::Options;

/// A lint rule: its code in the registry (which holds its name and summary) and the check.
pub struct Rule {
    /// The rule's code, a `TG10xx` warning with a lint name.
    pub code: &'static Code,
    /// The check itself.
    pub run: fn(&Context<'_>, &mut Vec<Diagnostic>),
}

impl Rule {
    /// The rule's short name, as its module's file is named (`unused-group`).
    pub fn name(&self) -> &'static str {
        self.code.lint.unwrap_or(self.code.id)
    }

    /// One line on what it finds.
    pub fn summary(&self) -> &'static str {
        self.code.summary
    }
}

/// What every rule may look at, computed once per run.
pub struct Context<'p> {
    /// The policy.
    pub policy: &'p Policy,
    /// The names it defines.
    pub names: &'p Names<'p>,
    /// The check's options (the tailnet, when given).
    pub options: &'p Options<'p>,
    /// Every selector the policy refers to (collected once by the lint runner).
    pub references: foldhash::HashSet<&'p str>,
}

/// Every lint rule.
pub const RULES: &[Rule] = &[
    unused::GROUP,
    unused::TAG,
    unused::HOST,
    unused::IPSET,
    redundant_rule::RULE,
    relay_wildcard_src::RULE,
    relay_without_relay::RULE,
    field_case::RULE,
    check_period_on_accept::RULE,
    unknown_tailscale_capability::RULE,
    duplicate_selector::RULE,
];

/// Runs every lint.
pub(crate) fn run<'p>(
    policy: &'p Policy,
    names: &'p Names<'p>,
    options: &'p Options<'p>,
) -> Vec<Diagnostic> {
    let context = Context {
        policy,
        names,
        options,
        references: references(policy).into_iter().collect(),
    };
    let mut out = Vec::new();
    for rule in RULES {
        (rule.run)(&context, &mut out);
    }
    out
}

/// Every selector the policy refers to outside the definitions themselves, as written
/// (trimmed, ports removed from ACL destinations, `add`/`remove` removed from ipsets).
pub(crate) fn references(p: &Policy) -> Vec<&str> {
    fn plain<T: std::ops::Deref<Target = str>>(s: &Spanned<T>) -> &str {
        s.trim()
    }
    fn dst_alias(d: &Spanned<Dst>) -> &str {
        d.host().map_or(d.trimmed(), Selector::as_str)
    }
    let mut refs: Vec<&str> = Vec::new();
    for acl in &p.acls {
        refs.extend(acl.src.iter().map(plain));
        refs.extend(acl.dst.iter().map(dst_alias));
    }
    for g in &p.grants {
        refs.extend(g.src.iter().chain(&g.dst).chain(&g.via).map(plain));
    }
    for r in &p.ssh {
        refs.extend(r.src.iter().chain(&r.dst).map(plain));
        refs.extend(r.recorder.iter().map(plain));
    }
    for n in &p.node_attrs {
        refs.extend(n.target.iter().map(plain));
    }
    for (_, owners) in &p.tag_owners {
        refs.extend(owners.iter().map(plain));
    }
    if let Some(aa) = &p.auto_approvers {
        for (_, approvers) in &aa.routes {
            refs.extend(approvers.iter().map(plain));
        }
        refs.extend(aa.exit_node.iter().map(plain));
    }
    for (_, entries) in &p.ipsets {
        refs.extend(entries.iter().map(|e| e.selector().as_str()));
    }
    for t in &p.tests {
        refs.extend(t.src.iter().map(plain));
        refs.extend(t.accept.iter().chain(&t.deny).map(dst_alias));
    }
    for t in &p.ssh_tests {
        refs.extend(t.src.iter().map(plain));
        refs.extend(t.dst.iter().map(plain));
    }
    refs
}
