//! Device posture as a condition on access.
//!
//! A rule with `srcPosture` (or, without it, the policy's `defaultSrcPosture`) gives its
//! access only to source devices that match one of the listed postures; a posture holds
//! when all of its conditions hold (Tailscale's device posture documentation, kb/1288). So
//! the condition under which a source holds some access is a disjunction of conjunctions of
//! posture conditions, and comparing two of them tells whether access was gained (the new
//! condition holds where the old one did not: a condition removed or relaxed) or lost.

use crate::model::policy::{Policy, Str};
use std::collections::BTreeSet;

/// Any of the conjunctions; each conjunction is a set of posture conditions that must all
/// hold. No conjunction: never. One empty conjunction: always.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Condition(BTreeSet<BTreeSet<String>>);

impl Condition {
    /// The condition that always holds.
    pub(crate) fn always() -> Self {
        Self(BTreeSet::from([BTreeSet::new()]))
    }

    /// True when it never holds (no access at all).
    pub(crate) fn is_never(&self) -> bool {
        self.0.is_empty()
    }

    /// True when it holds whatever the device.
    pub(crate) fn is_always(&self) -> bool {
        self.0.iter().any(BTreeSet::is_empty)
    }

    /// `self` or `other`.
    pub(crate) fn or(&mut self, other: &Self) {
        self.0.extend(other.0.iter().cloned());
        // A conjunction that contains another one adds nothing to the disjunction.
        let all: Vec<BTreeSet<String>> = self.0.iter().cloned().collect();
        self.0
            .retain(|c| !all.iter().any(|o| o != c && o.is_subset(c)));
    }

    /// True when every device that satisfies `self` satisfies `other`.
    pub(crate) fn implies(&self, other: &Self) -> bool {
        self.0
            .iter()
            .all(|a| other.0.iter().any(|b| b.is_subset(a)))
    }

    /// ` if COND` (conditions joined by `&&`, alternatives by `||`), or nothing when it
    /// always holds.
    pub(crate) fn suffix(&self) -> String {
        if self.is_always() || self.is_never() {
            return String::new();
        }
        let alternatives: Vec<String> = self
            .0
            .iter()
            .map(|c| c.iter().cloned().collect::<Vec<_>>().join(" && "))
            .collect();
        format!(" if {}", alternatives.join(" || "))
    }

    /// The condition of a rule whose `srcPosture` is `src_posture`.
    pub(crate) fn of_rule(policy: &Policy, src_posture: &[Str]) -> Self {
        let names = if src_posture.is_empty() {
            &policy.default_src_posture
        } else {
            src_posture
        };
        if names.is_empty() {
            return Self::always();
        }
        let mut out = Self::default();
        for name in names {
            let name = name.trim();
            let atoms: BTreeSet<String> =
                match policy.postures.iter().find(|(k, _)| k.trim() == name) {
                    Some((_, conditions)) => conditions.iter().map(|c| normalize(c)).collect(),
                    // Undefined postures are rejected by `check`; should one reach here, it
                    // stays a condition of its own that nothing else implies (fail closed).
                    None => BTreeSet::from([format!("{name} (undefined)")]),
                };
            out.or(&Self(BTreeSet::from([atoms])));
        }
        out
    }
}

/// A posture condition with its whitespace collapsed, so that spacing is no change.
fn normalize(condition: &str) -> String {
    condition.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(conjunctions: &[&[&str]]) -> Condition {
        Condition(
            conjunctions
                .iter()
                .map(|c| c.iter().map(|s| (*s).to_string()).collect())
                .collect(),
        )
    }

    #[test]
    fn a_removed_condition_is_weaker() {
        let strict = of(&[&["a", "b"]]);
        let loose = of(&[&["a"]]);
        assert!(strict.implies(&loose));
        assert!(!loose.implies(&strict));
        assert!(loose.implies(&Condition::always()));
        assert!(!Condition::always().implies(&loose));
        assert!(
            Condition::default().implies(&strict),
            "never implies anything"
        );
        assert!(!strict.implies(&Condition::default()));
    }

    #[test]
    fn or_drops_what_is_already_covered() {
        let mut c = of(&[&["a", "b"]]);
        c.or(&of(&[&["a"]]));
        assert_eq!(c, of(&[&["a"]]));
        c.or(&Condition::always());
        assert!(c.is_always());
        assert_eq!(c.suffix(), "");
        assert_eq!(of(&[&["a", "b"], &["c"]]).suffix(), " if a && b || c");
    }
}
