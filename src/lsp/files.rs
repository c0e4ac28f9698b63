//! The files around the open documents: a policy's sidecar and the sidecar's policy, the
//! tailnet file (read again only when it changes), `file:` URIs, and edits to a document.

use super::engine;
use super::position::{BadPosition, Encoding, Lines};
use crate::model::tailnet::Tailnet;
use lsp_types::{TextDocumentContentChangeEvent, Uri};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::SystemTime;

/// A tailnet file as last read: when it was modified, its size, and what it held.
type Read = (Option<SystemTime>, u64, Result<Arc<Tailnet>, String>);

/// Tailnet files already read, by path.
#[derive(Default)]
pub(crate) struct Tailnets {
    cache: HashMap<PathBuf, Read>,
}

impl Tailnets {
    /// The tailnet in `path`, read again only when its modification time or size changed;
    /// the error names the file.
    pub(crate) fn load(&mut self, path: &Path) -> Result<Arc<Tailnet>, String> {
        let unusable = |e: &dyn std::fmt::Display| {
            format!(
                "tailgrant: the tailnet file {} cannot be used: {e}; checking without a tailnet",
                path.display()
            )
        };
        let meta = std::fs::metadata(path).map_err(|e| unusable(&e))?;
        let stamp = (meta.modified().ok(), meta.len());
        if let Some((modified, len, tailnet)) = self.cache.get(path) {
            if (*modified, *len) == stamp {
                return tailnet.clone();
            }
        }
        let loaded = if meta.len() > super::MAX_DOCUMENT as u64 {
            Err(unusable(&format!(
                "it is larger than {} bytes",
                super::MAX_DOCUMENT
            )))
        } else {
            std::fs::read(path)
                .map_err(|e| e.to_string())
                .and_then(|b| engine::tailnet(&String::from_utf8_lossy(&b)))
                .map(Arc::new)
                .map_err(|e| unusable(&e))
        };
        self.cache
            .insert(path.to_path_buf(), (stamp.0, stamp.1, loaded.clone()));
        loaded
    }
}

/// Applies a didChange's edits in order.
pub(crate) fn apply_changes(
    mut text: String,
    changes: Vec<TextDocumentContentChangeEvent>,
    encoding: Encoding,
) -> Result<String, BadPosition> {
    for change in changes {
        match change.range {
            None => text = change.text,
            Some(range) => {
                let lines = Lines::new(&text, encoding);
                let start = lines.offset(&text, range.start)?;
                let end = lines.offset(&text, range.end)?;
                text.replace_range(start.min(end)..start.max(end), &change.text);
            }
        }
    }
    Ok(text)
}

/// The local path of a `file:` URI.
pub(crate) fn file_path(uri: &Uri) -> Option<PathBuf> {
    if !uri.scheme()?.as_str().eq_ignore_ascii_case("file") {
        return None;
    }
    let decoded = uri.path().as_estr().decode().into_string().ok()?;
    Some(Path::new(decoded.as_ref()).to_path_buf())
}

pub(crate) const SIDECAR: &str = ".tests.hujson";

/// The policies a sidecar `NAME.tests.hujson` may belong to: `NAME.hujson`, else
/// `NAME.json` beside it (as `tailgrant test` finds the sidecar of either).
pub(crate) fn policies_of(uri: &Uri) -> Option<[Uri; 2]> {
    let stem = uri.as_str().strip_suffix(SIDECAR)?;
    let hujson = Uri::from_str(&format!("{stem}.hujson")).ok()?;
    let json = Uri::from_str(&format!("{stem}.json")).ok()?;
    Some([hujson, json])
}

/// The sidecar of a policy `NAME.hujson`.
pub(crate) fn sidecar_of(uri: &Uri) -> Option<Uri> {
    let s = uri.as_str();
    if s.ends_with(SIDECAR) {
        return None;
    }
    let stem = s
        .strip_suffix(".hujson")
        .or_else(|| s.strip_suffix(".json"))?;
    Uri::from_str(&format!("{stem}{SIDECAR}")).ok()
}
