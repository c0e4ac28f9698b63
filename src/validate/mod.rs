//! Stage 3, the control plane's verdict: the rules by which Tailscale rejects a policy, the
//! evaluation of its `tests` and `sshTests`, and the lints on top.

pub mod check;
pub mod lint;
pub mod policytest;
