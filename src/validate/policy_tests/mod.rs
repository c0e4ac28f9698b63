//! The policy's own tests, `tests` and `sshTests`: their shape (`shape`, checked with or
//! without a tailnet) and their evaluation against a tailnet (`eval`), as Tailscale's
//! control plane does both.

pub(crate) mod eval;
mod shape;

pub use eval::{run_tests, TestFailure, TESTS_FAILED};

use crate::model::Dialect;
use crate::validate::Options;

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::names::Names;
use crate::model::policy::Policy;
use crate::model::tailnet::Tailnet;

/// Adds to `out` (which holds the policy's other errors) what its tests find: the malformed
/// entries, and with a tailnet the failing ones.
///
/// With a tailnet the evaluation replaces the shape findings (it finds the same malformed
/// entries and more); it runs only on an otherwise valid policy, as the control plane's does.
pub(crate) fn check(
    policy: &Policy,
    names: &Names<'_>,
    options: &Options<'_>,
    out: &mut Vec<Diagnostic>,
) {
    shape::tests(policy, names, options.dialect, out);
    shape::ssh_tests(policy, names, options.dialect, out);
    if let Some(tailnet) = options.tailnet {
        evaluate(policy, tailnet, options.dialect, out);
    }
}

/// Replaces the shape findings of `tests` with the failures of their evaluation.
fn evaluate(policy: &Policy, tailnet: &Tailnet, dialect: Dialect, out: &mut Vec<Diagnostic>) {
    let otherwise_valid = out
        .iter()
        .all(|d| !d.is_error() || d.code == codes::TEST_FAILED);
    if !otherwise_valid {
        return;
    }
    out.retain(|d| d.code != codes::TEST_FAILED);
    for f in eval::run_tests_in(policy, tailnet, dialect) {
        let span = f.element.unwrap_or(f.span);
        if out
            .iter()
            .any(|d| d.message == f.control_plane_message && d.span == span)
        {
            continue;
        }
        let message = if f.control_plane_message == TESTS_FAILED {
            format!("{}: {}", f.control_plane_message, f.reason)
        } else {
            f.control_plane_message.clone()
        };
        out.push(
            Diagnostic::error(codes::TEST_FAILED, message, span)
                .with_label("this test fails")
                .with_help("grant (or stop granting) the access in the policy, or correct the test; `tailgrant explain --src ... --dst ...` shows which rules decide it"),
        );
    }
}
