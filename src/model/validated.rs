//! A policy that has passed the checker: the only input the compiler, the decision table and
//! the relay accept.
//!
//! Only the checker makes one ([`crate::validate::Report::into_validated`]), when the
//! policy has no error, so a caller cannot compile a policy that Tailscale would reject.
//!
//! ```
//! use tailgrant::validate::{check_text, Options};
//! let text = r#"{"grants": [{"src": ["*"], "dst": ["*"], "ip": ["*"]}]}"#;
//! let valid = check_text(text, &Options::default()).into_validated();
//! assert_eq!(valid.map(|v| v.policy().grants.len()).ok(), Some(1));
//!
//! let invalid = check_text(r#"{"grants": [{"src": ["tag:x"]}]}"#, &Options::default());
//! assert!(invalid.into_validated().is_err());
//! ```

use super::policy::Policy;
use super::Dialect;
use std::ops::Deref;

/// A [`Policy`] without errors, under the rules of the [`Dialect`] it was checked by. It
/// reads as a policy (it dereferences to one) but cannot be built from one outside the crate.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated(Policy, Dialect);

impl Validated {
    /// Wraps a policy the checker found no error in under `dialect`'s rules. Called by the
    /// checker alone.
    pub(crate) const fn new(policy: Policy, dialect: Dialect) -> Self {
        Self(policy, dialect)
    }

    /// The dialect whose rules accepted this policy (`validate::Options::dialect`): the
    /// engine and the tools answer by the same control server's rules.
    pub const fn dialect(&self) -> Dialect {
        self.1
    }

    /// The policy.
    pub const fn policy(&self) -> &Policy {
        &self.0
    }

    /// The policy, unwrapped.
    pub fn into_policy(self) -> Policy {
        self.0
    }

    /// The part of this policy that gives network or application access through the grants
    /// that `keep` selects: the other grants, the ACL entries, the SSH rules and the tests
    /// are dropped; every definition they resolve through is kept. Dropping rules from a
    /// valid policy leaves it valid, so the result is one too.
    #[cfg(feature = "relay-core")]
    pub(crate) fn grants_only(&self, keep: impl Fn(&super::policy::Grant) -> bool) -> Self {
        let mut view = self.0.clone();
        view.acls.clear();
        view.grants.retain(|g| keep(g));
        view.ssh.clear();
        view.tests.clear();
        view.ssh_tests.clear();
        Self(view, self.1)
    }
}

impl Deref for Validated {
    type Target = Policy;
    fn deref(&self) -> &Policy {
        &self.0
    }
}
