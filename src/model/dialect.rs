//! Which control server's rules a policy is read by: Tailscale's (the default) or
//! Headscale's, the open-source control server, which reads the same file format with rules
//! of its own (`hscontrol/policy/v2/types.go` in juanfont/headscale).
//!
//! The dialect is a value that the stages take, not a switch spread through them: each rule
//! that differs asks it once, where the rule is, and cites Headscale's source.

use std::fmt;

/// The control server whose verdict a check gives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Dialect {
    /// Tailscale's control plane (the SaaS).
    #[default]
    Tailscale,
    /// Headscale, the open-source control server.
    Headscale,
}

impl Dialect {
    /// The dialect's name on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Tailscale => "tailscale",
            Self::Headscale => "headscale",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
