//! `tailgrant lsp`: a language server for policy files, over the Language Server Protocol.
//!
//! It publishes exactly the findings of `tailgrant check` (and, for a `NAME.tests.hujson`
//! sidecar, those of `tailgrant test`'s assertions) as the text is typed, and answers hover,
//! completion, go to definition, references, rename, document symbols, code actions and
//! formatting. The features are described in `docs/lsp.md`.
//!
//! Built on `lsp-server` and `lsp-types`, the crates rust-analyzer is built on: a
//! synchronous loop over a channel of messages, no async runtime, the protocol's types
//! kept up to date by the rust-analyzer team. Requests are answered on the main loop (each
//! is a walk over one document); diagnostics are computed on a worker thread, debounced,
//! with a generation per document so that a result overtaken by an edit is never published.
#![allow(
    clippy::mutable_key_type,
    reason = "lsp_types::Uri hashes and compares by its text; its interior mutability is a cache"
)]

mod actions;
mod complete;
mod context;
mod engine;
mod files;
mod hover;
mod navigate;
mod position;
mod roles;
mod worker;

pub(crate) use position::Encoding;

use crate::model::Dialect;
use files::{file_path, policies_of, sidecar_of};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response, ResponseError};
use lsp_types::notification::{self, Notification as _};
use lsp_types::request::{self, Request as _};
use lsp_types::{InitializeParams, ServerCapabilities, Uri};
use position::Lines;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A policy file on disk, when it is a readable file of at most [`MAX_DOCUMENT`] bytes.
fn read_policy(uri: &Uri) -> Option<(Uri, Arc<str>)> {
    let path = file_path(uri)?;
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.is_file() || meta.len() > MAX_DOCUMENT as u64 {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    Some((
        uri.clone(),
        Arc::from(String::from_utf8_lossy(&bytes).as_ref()),
    ))
}

/// The largest document that is checked, as `tailgrant check`'s default `--max-input-size`.
pub const MAX_DOCUMENT: usize = 32 << 20;

/// How many distinct messages are remembered as shown.
const MAX_SHOWN: usize = 64;

/// A failure of the connection itself (the client went away, or broke the protocol).
#[derive(Debug, thiserror::Error)]
#[error("language server: {0}")]
pub struct Error(String);

impl From<lsp_server::ProtocolError> for Error {
    fn from(e: lsp_server::ProtocolError) -> Self {
        Self(e.to_string())
    }
}

/// Runs the server over standard input and output until the client says `exit`.
pub fn run_stdio() -> Result<(), Error> {
    let (connection, io) = Connection::stdio();
    serve(&connection)?;
    drop(connection);
    io.join().map_err(|e| Error(e.to_string()))
}

/// Runs the server on `connection`: initialization, then every message until `exit`.
pub fn serve(connection: &Connection) -> Result<(), Error> {
    let (id, params) = connection.initialize_start()?;
    let params: InitializeParams = serde_json::from_value(params)
        .map_err(|e| Error(format!("the initialize request is malformed: {e}")))?;
    let encoding = Encoding::negotiate(
        params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_deref()),
    );
    let config = Config::from_params(&params);
    let result = serde_json::json!({
        "capabilities": capabilities(encoding),
        "serverInfo": {"name": "tailgrant", "version": env!("CARGO_PKG_VERSION")},
    });
    connection.initialize_finish(id, result)?;
    let (worker, jobs) = worker::Worker::start(connection.sender.clone(), config.debounce);
    let mut server = Server {
        sender: connection.sender.clone(),
        encoding,
        config,
        docs: HashMap::new(),
        jobs,
        tailnets: files::Tailnets::default(),
        shown: Vec::new(),
    };
    if let Some(bad) = server.config.unknown_dialect.clone() {
        server.show(
            lsp_types::MessageType::ERROR,
            format!("tailgrant: the `dialect` option is `tailscale` or `headscale`, not {bad}; checking by Tailscale's rules"),
        );
    }
    for message in &connection.receiver {
        match message {
            Message::Request(req) => {
                if connection.handle_shutdown(&req)? {
                    break;
                }
                let response = server.request(req);
                server.send(response.into());
            }
            Message::Notification(n) => {
                if n.method == notification::Exit::METHOD {
                    break;
                }
                server.notification(n);
            }
            Message::Response(_) => {}
        }
    }
    drop(server);
    worker.join();
    Ok(())
}

fn capabilities(encoding: Encoding) -> ServerCapabilities {
    use lsp_types::*;
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                ..TextDocumentSyncOptions::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["\"".into(), ":".into()]),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: WorkDoneProgressOptions::default(),
        })),
        document_symbol_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..CodeActionOptions::default()
        })),
        document_formatting_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

/// The settings a client gives in `initializationOptions`.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// `tailnet`: the tailnet file (relative to the workspace root); by default a
    /// `tailnet.json` beside the policy, when there is one.
    pub(crate) tailnet: Option<PathBuf>,
    /// `allow`: lint codes whose warnings are not shown (as `check --allow`).
    pub(crate) allow: Arc<[String]>,
    /// `dialect`: whose rules decide (`"tailscale"`, the default, or `"headscale"`), as
    /// `check --dialect`.
    pub(crate) dialect: Dialect,
    /// A `dialect` that is neither: shown as an error once the server runs (the check then
    /// uses Tailscale's rules).
    pub(crate) unknown_dialect: Option<String>,
    /// `debounceMs`: how long to wait after an edit before checking (default 0: the edits
    /// that arrive while a check runs are coalesced into one check of the newest text).
    pub(crate) debounce: Duration,
}

impl Config {
    fn from_params(params: &InitializeParams) -> Self {
        let options = params.initialization_options.as_ref();
        let get = |key: &str| options.and_then(|o| o.get(key));
        #[allow(
            deprecated,
            reason = "root_uri is how older clients name the workspace"
        )]
        let root = params
            .workspace_folders
            .as_ref()
            .and_then(|f| f.first())
            .map(|f| f.uri.clone())
            .or_else(|| params.root_uri.clone())
            .and_then(|u| file_path(&u));
        let tailnet = get("tailnet").and_then(Value::as_str).map(|t| {
            let path = PathBuf::from(t);
            match &root {
                Some(root) if path.is_relative() => root.join(path),
                _ => path,
            }
        });
        let allow = get("allow")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let debounce = get("debounceMs")
            .and_then(Value::as_u64)
            .map_or(Duration::ZERO, |ms| Duration::from_millis(ms.min(10_000)));
        let (dialect, unknown_dialect) = match get("dialect") {
            None | Some(Value::Null) => (Dialect::Tailscale, None),
            Some(Value::String(d)) if d == "tailscale" => (Dialect::Tailscale, None),
            Some(Value::String(d)) if d == "headscale" => (Dialect::Headscale, None),
            Some(other) => (Dialect::Tailscale, Some(other.to_string())),
        };
        Self {
            tailnet,
            allow,
            dialect,
            unknown_dialect,
            debounce,
        }
    }
}

/// An open document.
struct Document {
    text: String,
    version: i32,
}

struct Server {
    sender: crossbeam_channel::Sender<Message>,
    encoding: Encoding,
    config: Config,
    docs: HashMap<Uri, Document>,
    jobs: worker::Jobs,
    tailnets: files::Tailnets,
    /// The messages already shown to the user (each is shown once).
    shown: Vec<String>,
}

/// One document as a request sees it.
pub(crate) struct Doc<'a> {
    pub(crate) uri: &'a Uri,
    pub(crate) text: &'a str,
    pub(crate) lines: Lines,
}

impl Doc<'_> {
    /// The byte offset of a client's position.
    pub(crate) fn offset(&self, p: lsp_types::Position) -> Result<usize, ResponseError> {
        self.lines
            .offset(self.text, p)
            .map_err(|e| failure(ErrorCode::InvalidParams, e.to_string()))
    }

    /// The client's range of a byte span.
    pub(crate) fn range(&self, span: crate::span::Span) -> lsp_types::Range {
        self.lines.range(self.text, span)
    }
}

/// A failed request's error.
pub(crate) fn failure(code: ErrorCode, message: impl Into<String>) -> ResponseError {
    ResponseError {
        code: code as i32,
        message: message.into(),
        data: None,
    }
}

/// What a feature answers: a result, or an error.
pub(crate) type Answer = Result<Value, ResponseError>;

fn json<T: serde::Serialize>(value: T) -> Answer {
    serde_json::to_value(value).map_err(|e| failure(ErrorCode::InternalError, e.to_string()))
}

fn params<P: serde::de::DeserializeOwned>(req: &Request) -> Result<P, ResponseError> {
    serde_json::from_value(req.params.clone()).map_err(|e| {
        failure(
            ErrorCode::InvalidParams,
            format!("invalid parameters of `{}`: {e}", req.method),
        )
    })
}

impl Server {
    fn send(&self, message: Message) {
        // The client went away: the loop ends when the receiver does.
        let _ = self.sender.send(message);
    }

    fn show(&mut self, kind: lsp_types::MessageType, message: String) {
        if self.shown.contains(&message) {
            return;
        }
        // Bounded: a client that provokes endless distinct messages gets them again rather
        // than grow the server's memory.
        if self.shown.len() >= MAX_SHOWN {
            self.shown.clear();
        }
        self.shown.push(message.clone());
        self.send(
            Notification::new(
                notification::ShowMessage::METHOD.to_string(),
                lsp_types::ShowMessageParams { typ: kind, message },
            )
            .into(),
        );
    }

    fn doc<'a>(&'a self, uri: &'a Uri) -> Result<Doc<'a>, ResponseError> {
        let d = self.docs.get(uri).ok_or_else(|| {
            failure(
                ErrorCode::InvalidParams,
                format!("`{}` is not open: send didOpen first", uri.as_str()),
            )
        })?;
        if d.text.len() > MAX_DOCUMENT {
            return Err(failure(
                ErrorCode::RequestFailed,
                format!(
                    "`{}` is larger than the {MAX_DOCUMENT} bytes tailgrant reads",
                    uri.as_str()
                ),
            ));
        }
        Ok(Doc {
            uri,
            text: &d.text,
            lines: Lines::new(&d.text, self.encoding),
        })
    }

    fn request(&mut self, req: Request) -> Response {
        // A bug in a feature answers this request with an error and leaves the server up.
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.answer(&req)))
            .unwrap_or_else(|_| {
                Err(failure(
                    ErrorCode::InternalError,
                    format!(
                        "tailgrant failed while answering `{}`; please report it",
                        req.method
                    ),
                ))
            });
        Response {
            id: req.id.clone(),
            response_result: answer,
        }
    }

    fn answer(&mut self, req: &Request) -> Answer {
        match req.method.as_str() {
            request::HoverRequest::METHOD => {
                let p: lsp_types::HoverParams = params(req)?;
                let uri = &p.text_document_position_params.text_document.uri;
                let tailnet = self.tailnet_for(uri);
                let doc = self.doc(uri)?;
                let at = doc.offset(p.text_document_position_params.position)?;
                json(hover::hover(
                    &doc,
                    at,
                    tailnet.as_deref(),
                    &self.config.allow,
                    self.config.dialect,
                ))
            }
            request::Completion::METHOD => {
                let p: lsp_types::CompletionParams = params(req)?;
                let doc = self.doc(&p.text_document_position.text_document.uri)?;
                let at = doc.offset(p.text_document_position.position)?;
                json(complete::complete(&doc, at))
            }
            request::GotoDefinition::METHOD => {
                let p: lsp_types::GotoDefinitionParams = params(req)?;
                let doc = self.doc(&p.text_document_position_params.text_document.uri)?;
                let at = doc.offset(p.text_document_position_params.position)?;
                json(navigate::definition(&doc, at))
            }
            request::References::METHOD => {
                let p: lsp_types::ReferenceParams = params(req)?;
                let doc = self.doc(&p.text_document_position.text_document.uri)?;
                let at = doc.offset(p.text_document_position.position)?;
                json(navigate::references(
                    &doc,
                    at,
                    p.context.include_declaration,
                ))
            }
            request::PrepareRenameRequest::METHOD => {
                let p: lsp_types::TextDocumentPositionParams = params(req)?;
                let doc = self.doc(&p.text_document.uri)?;
                let at = doc.offset(p.position)?;
                json(navigate::prepare_rename(&doc, at))
            }
            request::Rename::METHOD => {
                let p: lsp_types::RenameParams = params(req)?;
                let doc = self.doc(&p.text_document_position.text_document.uri)?;
                let at = doc.offset(p.text_document_position.position)?;
                json(navigate::rename(&doc, at, &p.new_name)?)
            }
            request::DocumentSymbolRequest::METHOD => {
                let p: lsp_types::DocumentSymbolParams = params(req)?;
                let doc = self.doc(&p.text_document.uri)?;
                json(navigate::symbols(&doc))
            }
            request::CodeActionRequest::METHOD => {
                let p: lsp_types::CodeActionParams = params(req)?;
                let uri = &p.text_document.uri;
                let tailnet = self.tailnet_for(uri);
                let doc = self.doc(uri)?;
                let start = doc.offset(p.range.start)?;
                let end = doc.offset(p.range.end)?;
                json(actions::code_actions(
                    &doc,
                    crate::span::Span::new(start.min(end), start.max(end)),
                    tailnet.as_deref(),
                    &self.config.allow,
                    self.config.dialect,
                ))
            }
            request::Formatting::METHOD => {
                let p: lsp_types::DocumentFormattingParams = params(req)?;
                let doc = self.doc(&p.text_document.uri)?;
                json(actions::format(&doc)?)
            }
            other => Err(failure(
                ErrorCode::MethodNotFound,
                format!("tailgrant lsp does not handle `{other}`"),
            )),
        }
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            notification::DidOpenTextDocument::METHOD => {
                let p = match serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(
                    n.params,
                ) {
                    Ok(p) => p,
                    Err(e) => {
                        let message = format!("tailgrant: a malformed didOpen was ignored: {e}");
                        self.show(lsp_types::MessageType::ERROR, message);
                        return;
                    }
                };
                let doc = p.text_document;
                self.docs.insert(
                    doc.uri.clone(),
                    Document {
                        text: doc.text,
                        version: doc.version,
                    },
                );
                self.changed(&doc.uri);
            }
            notification::DidChangeTextDocument::METHOD => {
                let Ok(p) =
                    serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(n.params)
                else {
                    return;
                };
                let uri = p.text_document.uri;
                let Some(doc) = self.docs.get_mut(&uri) else {
                    self.show(
                        lsp_types::MessageType::WARNING,
                        format!(
                            "tailgrant: a change to `{}`, which is not open, was ignored",
                            uri.as_str()
                        ),
                    );
                    return;
                };
                match files::apply_changes(
                    std::mem::take(&mut doc.text),
                    p.content_changes,
                    self.encoding,
                ) {
                    Ok(text) => {
                        doc.text = text;
                        doc.version = p.text_document.version;
                        self.changed(&uri);
                    }
                    Err(e) => {
                        // The client's text and ours now differ: drop ours (requests then
                        // fail) rather than answer about a text the user does not see.
                        self.docs.remove(&uri);
                        self.jobs.forget(&uri);
                        self.show(
                            lsp_types::MessageType::ERROR,
                            format!("tailgrant: a change to `{}` names no place of the document ({e}); close and reopen it", uri.as_str()),
                        );
                    }
                }
            }
            notification::DidCloseTextDocument::METHOD => {
                let Ok(p) =
                    serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(n.params)
                else {
                    return;
                };
                let uri = p.text_document.uri;
                self.docs.remove(&uri);
                self.jobs.forget(&uri);
                self.send(worker::publish(&uri, Vec::new(), None));
                if let Some(sidecar) = sidecar_of(&uri).filter(|s| self.docs.contains_key(s)) {
                    self.changed(&sidecar);
                }
            }
            _ => {}
        }
    }

    /// Schedules the diagnostics of `uri`, and of its open sidecar when it is a policy.
    fn changed(&mut self, uri: &Uri) {
        self.schedule(uri);
        if let Some(sidecar) = sidecar_of(uri).filter(|s| self.docs.contains_key(s)) {
            self.schedule(&sidecar);
        }
    }

    fn schedule(&mut self, uri: &Uri) {
        let tailnet = self.tailnet_for(uri);
        let Some(doc) = self.docs.get(uri) else {
            return;
        };
        let text: Arc<str> = Arc::from(doc.text.as_str());
        let version = doc.version;
        let input = if let Some(candidates) = policies_of(uri) {
            let policy = self.sidecar_policy(&candidates, tailnet);
            worker::Input::Assertions { text, policy }
        } else {
            worker::Input::Policy {
                text,
                tailnet,
                allow: self.config.allow.clone(),
                dialect: self.config.dialect,
            }
        };
        self.jobs.submit(uri.clone(), version, self.encoding, input);
    }

    /// The policy (open, else on disk) and tailnet an assertions file runs against, or why
    /// there are none.
    fn sidecar_policy(
        &self,
        candidates: &[Uri; 2],
        tailnet: Option<Arc<crate::model::tailnet::Tailnet>>,
    ) -> Result<worker::PolicyFile, String> {
        let tailnet = tailnet.ok_or(
            "no tailnet: set the `tailnet` initialization option or put a tailnet.json beside the policy",
        )?;
        let open = candidates
            .iter()
            .find_map(|u| Some((u.clone(), Arc::from(self.docs.get(u)?.text.as_str()))));
        let (uri, text) = open
            .or_else(|| candidates.iter().find_map(read_policy))
            .ok_or_else(|| {
                let [hujson, json] = candidates.clone().map(|u| {
                    file_path(&u)
                        .map_or_else(|| u.as_str().to_string(), |p| p.display().to_string())
                });
                format!("neither {hujson} nor {json} is open or readable")
            })?;
        let name =
            file_path(&uri).map_or_else(|| uri.as_str().to_string(), |p| p.display().to_string());
        Ok(worker::PolicyFile {
            uri,
            name,
            text,
            tailnet,
            dialect: self.config.dialect,
        })
    }

    /// The tailnet of a document: the configured file, else `tailnet.json` beside it.
    fn tailnet_for(&mut self, uri: &Uri) -> Option<Arc<crate::model::tailnet::Tailnet>> {
        let path = match &self.config.tailnet {
            Some(p) => p.clone(),
            None => {
                let beside = file_path(uri)?.with_file_name("tailnet.json");
                if !beside.is_file() {
                    return None;
                }
                beside
            }
        };
        match self.tailnets.load(&path) {
            Ok(t) => Some(t),
            Err(e) => {
                self.show(lsp_types::MessageType::WARNING, e);
                None
            }
        }
    }
}
