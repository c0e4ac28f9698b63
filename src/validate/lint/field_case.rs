//! Field name in non-canonical case.
//!
//! **What:** a field such as `"TagOwners"` or `"ACLs"` whose case differs from Tailscale's
//! documentation (`tagOwners`, `acls`).
//!
//! **Why:** Tailscale matches field names without regard to case, so the file works, but
//! other tools (JSON Schema validation in editors, `jq` scripts, reviewers' searches) do
//! not, and mixed spellings hide duplicated sections.
//!
//! **Example:** `{"TagOwners": {}}` warns; write `{"tagOwners": {}}`.
//!
//! The warning is emitted while decoding the policy, where the key is matched.

use super::Rule;
use crate::codes;

/// TG1009.
pub(crate) const RULE: Rule = Rule {
    code: codes::FIELD_CASE,
    run: |_, _| {},
};
