//! `tailgrant fmt`: HuJSON formatted byte for byte as tailscale/hujson's `Format` formats
//! it (the formatter behind `hujsonfmt` and Tailscale's own tooling).
//!
//! The rules, in short (each pass is described in [`layout`]'s source):
//! - tabs for indentation; an object or array is on one line unless a line break stood
//!   after its opening bracket or a comma or before its closing bracket, or a line of it
//!   would be wider than 80 bytes, and then it has one entry per line and a trailing comma
//!   (none when the input was standard JSON);
//! - the values of consecutive one-line members are aligned;
//! - comments are kept, re-indented; at most one blank line; CR LF becomes LF;
//! - a string with a `\` escape is rewritten in RFC 8785's form (`"\u0041"` becomes
//!   `"A"`); numbers and other strings are copied as written;
//! - the output ends with exactly one newline.
//!
//! Before returning, [`format`] parses its output again with the same parser as
//! `tailgrant check` (the grammar Tailscale's control plane uses) and compares the values;
//! a result that would mean something else is refused with an error, never returned.
//!
//! ```
//! let text = "// ACL\n{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}], // all\n\"hosts\": {}}";
//! assert_eq!(
//!     tailgrant::syntax::fmt::format(text).unwrap(),
//!     "// ACL\n{\n\t\"acls\":  [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}], // all\n\t\"hosts\": {},\n}\n",
//! );
//! ```

mod diff;
mod layout;

use crate::codes;
pub use diff::unified_diff;

use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::syntax::hujson;

/// Formats HuJSON text.
///
/// A syntax error is returned as the same [`Diagnostic`] that [`hujson::parse`] (and so
/// `tailgrant check`) reports.
pub fn format(text: &str) -> Result<String, Diagnostic> {
    let (before, _) = hujson::parse(text)?;
    let mut tree = hujson::syntax::parse(text)
        .map_err(|e| hujson::syntax_error(text, &e))?
        .to_owned_text(text);
    layout::format(&mut tree);
    let out = tree.pack();
    check_meaning(text, &before, &out)?;
    Ok(out)
}

/// Refuses `out` unless it parses to the same value as the input did.
fn check_meaning(text: &str, before: &hujson::Node, out: &str) -> Result<(), Diagnostic> {
    match hujson::parse(out) {
        Ok((after, _)) if after.same_value(before) => Ok(()),
        _ => Err(Diagnostic::error(
            codes::FMT_MEANING_CHANGED,
            "the formatter would change the meaning of this file",
            Span::new(0, text.len()),
        )
        .with_label("left unformatted")
        .with_help("this is a bug in `tailgrant fmt`; please report it with the file")),
    }
}

#[cfg(test)]
mod tests;
