//! What a check needs beyond the policy itself, shared by the checker, the lints and the
//! orchestrator that runs them.

use crate::model::tailnet::Tailnet;
use crate::model::Dialect;

/// What a check needs beyond the policy itself.
#[derive(Debug, Clone, Default)]
pub struct Options<'a> {
    /// The tailnet the policy is for: its domain is checked in `user:*@domain`, and with it
    /// `tests` and `sshTests` are evaluated and node-aware lints run.
    pub tailnet: Option<&'a Tailnet>,
    /// Whose rules decide: Tailscale's (the default) or Headscale's.
    pub dialect: Dialect,
}

impl Options<'_> {
    /// The tailnet's e-mail domain, when known. Headscale has none: `user:*@domain` and
    /// `localpart:*@domain` may name any domain, matched against each user's e-mail
    /// (`hscontrol/policy/v2/types.go` checks only their form, `ErrInvalidLocalpart`).
    pub(crate) fn domain(&self) -> Option<&str> {
        match self.dialect {
            Dialect::Tailscale => self.tailnet.and_then(Tailnet::domain),
            Dialect::Headscale => None,
        }
    }
}
