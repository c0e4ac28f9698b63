//! Starts `tailgrant lsp` for Zed: the executable is `lsp.tailgrant.binary.path` of Zed's
//! settings when set, else `tailgrant` from the worktree's PATH; `lsp.tailgrant.
//! initialization_options` (e.g. `{"tailnet": "tailnet.json"}`) reach the server as they are.

use zed_extension_api::{self as zed, settings::LspSettings, LanguageServerId, Result};

struct Tailgrant;

impl zed::Extension for Tailgrant {
    fn new() -> Self {
        Tailgrant
    }

    fn language_server_command(
        &mut self,
        _id: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<zed::Command> {
        let configured = LspSettings::for_worktree("tailgrant", worktree)
            .ok()
            .and_then(|s| s.binary)
            .and_then(|b| b.path);
        let command = match configured {
            Some(path) => path,
            None => worktree.which("tailgrant").ok_or_else(|| {
                "tailgrant is not in PATH: install it (cargo install --locked --path .) or set \
                 lsp.tailgrant.binary.path"
                    .to_string()
            })?,
        };
        Ok(zed::Command {
            command,
            args: vec!["lsp".to_string()],
            env: Vec::new(),
        })
    }

    fn language_server_initialization_options(
        &mut self,
        _id: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<Option<zed::serde_json::Value>> {
        Ok(LspSettings::for_worktree("tailgrant", worktree)
            .ok()
            .and_then(|s| s.initialization_options))
    }
}

zed::register_extension!(Tailgrant);
