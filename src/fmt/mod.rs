//! `tailgrant fmt`: a HuJSON formatter in the spirit of Tailscale's `hujson.Format`.
//!
//! The rules:
//! - tabs for indentation, as Tailscale's admin console and `hujson` write;
//! - each object and array is either on one line or expanded with one entry per line: it is
//!   expanded when the original had a line break anywhere between its brackets or when its
//!   one-line form is wider than 80 characters; empty ones print as `{}` and `[]`; as in
//!   `hujson`, an array written `[{` around its only element, with no line break of its own,
//!   keeps hugging it (`"ssh": [{` ... `}],`);
//! - in an expanded object, the values of a run of consecutive one-line members are aligned
//!   (a blank line or a comment on its own line starts a new run), as `hujson` does;
//! - a trailing comma after the last entry of every expanded object or array, none on one line;
//! - every comment is kept where it stands: one that ended a line still ends it, one on its
//!   own line stays on its own line, block comments are copied verbatim; at most one blank
//!   line is kept between entries, none after an opening bracket or before a closing one;
//! - strings, numbers and keys are copied byte for byte (escapes and unicode as written);
//! - the output ends with exactly one newline.
//!
//! The formatter is idempotent, keeps the meaning (the parsed value is equal) and keeps every
//! comment; `format` checks the meaning itself before returning, so a formatter bug can never
//! reach a file written in place.
//!
//! ```
//! let text = "// ACL\n{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}], // all\n\"hosts\": {}}";
//! assert_eq!(
//!     tailgrant::fmt::format(text).unwrap(),
//!     "// ACL\n{\n\t\"acls\":  [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}], // all\n\t\"hosts\": {},\n}\n",
//! );
//! ```

mod diff;
mod render;
mod tree;

pub use diff::unified_diff;

use crate::diagnostic::Diagnostic;
use crate::hujson;
use crate::span::Span;

/// Code of the error returned when the formatted text would not mean the same as the input
/// (a formatter bug; the input is then left as it is).
pub const CODE_MEANING_CHANGED: &str = "TG0090";

/// Formats HuJSON text.
///
/// A syntax error is returned as the same [`Diagnostic`] that [`hujson::parse`] (and so
/// `tailgrant check`) reports.
pub fn format(text: &str) -> Result<String, Diagnostic> {
    let (before, _) = hujson::parse(text)?;
    let doc = tree::build(text)?;
    let out = render::render(&doc);
    match hujson::parse(&out) {
        Ok((after, _)) if after.to_json() == before.to_json() => Ok(out),
        _ => Err(Diagnostic::error(
            CODE_MEANING_CHANGED,
            "the formatter would change the meaning of this file",
            Span::new(0, text.len()),
        )
        .with_label("left unformatted")
        .with_help("this is a bug in `tailgrant fmt`; please report it with the file")),
    }
}

#[cfg(test)]
mod tests;
