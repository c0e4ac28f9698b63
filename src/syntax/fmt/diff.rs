//! The unified diff that `fmt --check` prints.

use similar::TextDiff;

/// A unified diff from `old` to `new` with three lines of context, headed
/// `--- a/PATH` / `+++ b/PATH` like `git diff`; empty when the texts are equal.
///
/// ```
/// let diff = tailgrant::syntax::fmt::unified_diff("{\"a\":1}\n", "{\"a\": 1}\n", "policy.hujson");
/// assert!(diff.starts_with("--- a/policy.hujson\n+++ b/policy.hujson\n@@ -1 +1 @@\n"));
/// assert!(diff.contains("\n-{\"a\":1}\n+{\"a\": 1}\n"));
/// assert_eq!(tailgrant::syntax::fmt::unified_diff("x\n", "x\n", "p"), "");
/// ```
pub fn unified_diff(old: &str, new: &str, path: &str) -> String {
    if old == new {
        return String::new();
    }
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .missing_newline_hint(true)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_show_removed_and_added_lines_with_context() {
        let old = "{\n\t\"a\": 1,\n\t\"b\":2,\n\t\"c\": 3,\n}\n";
        let new = "{\n\t\"a\": 1,\n\t\"b\": 2,\n\t\"c\": 3,\n}\n";
        let diff = unified_diff(old, new, "p.hujson");
        assert_eq!(
            diff,
            "--- a/p.hujson\n+++ b/p.hujson\n@@ -1,5 +1,5 @@\n {\n \t\"a\": 1,\n-\t\"b\":2,\n+\t\"b\": 2,\n \t\"c\": 3,\n }\n"
        );
    }

    #[test]
    fn a_missing_final_newline_is_shown() {
        let diff = unified_diff("{}", "{}\n", "p");
        assert!(diff.contains("\\ No newline at end of file"), "{diff}");
    }
}
