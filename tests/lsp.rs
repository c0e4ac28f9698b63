//! `tailgrant lsp` driven in process through an in-memory connection, with the JSON-RPC
//! messages an editor sends.

#![cfg(feature = "lsp")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use lsp_server::{Connection, Message, Notification, Request, RequestId, ResponseError};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

struct Client {
    conn: Connection,
    server: Option<std::thread::JoinHandle<Result<(), tailgrant::lsp::Error>>>,
    next_id: i32,
    /// Notifications received while waiting for something else.
    inbox: VecDeque<Notification>,
    capabilities: Value,
}

impl Client {
    fn start(init_options: Value, encodings: &[&str]) -> Self {
        let (server_end, client_end) = Connection::memory();
        let server = std::thread::spawn(move || tailgrant::lsp::serve(&server_end));
        let mut c = Self {
            conn: client_end,
            server: Some(server),
            next_id: 0,
            inbox: VecDeque::new(),
            capabilities: Value::Null,
        };
        let result = c
            .request(
                "initialize",
                json!({
                    "processId": null,
                    "rootUri": null,
                    "capabilities": {"general": {"positionEncodings": encodings}},
                    "initializationOptions": init_options,
                }),
            )
            .unwrap();
        c.capabilities = result["capabilities"].clone();
        c.notify("initialized", json!({}));
        c
    }

    fn recv(&self) -> Message {
        self.conn
            .receiver
            .recv_timeout(WAIT)
            .expect("the server answers in time")
    }

    fn request(&mut self, method: &str, params: Value) -> Result<Value, ResponseError> {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.conn
            .sender
            .send(Request::new(id.clone(), method.to_string(), params).into())
            .unwrap();
        loop {
            match self.recv() {
                Message::Response(r) if r.id == id => return r.response_result,
                Message::Notification(n) => self.inbox.push_back(n),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    fn notify(&self, method: &str, params: Value) {
        self.conn
            .sender
            .send(Notification::new(method.to_string(), params).into())
            .unwrap();
    }

    /// The next notification of `method` (for `uri`, when given).
    fn notification(&mut self, method: &str, uri: Option<&str>) -> Value {
        let matches = |n: &Notification| {
            n.method == method && uri.is_none_or(|u| n.params["uri"] == json!(u))
        };
        if let Some(i) = self.inbox.iter().position(matches) {
            return self.inbox.remove(i).unwrap().params;
        }
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            match self.recv() {
                Message::Notification(n) if matches(&n) => return n.params,
                Message::Notification(n) => self.inbox.push_back(n),
                other => panic!("unexpected {other:?}"),
            }
        }
        panic!("no {method} for {uri:?}");
    }

    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let p = self.notification("textDocument/publishDiagnostics", Some(uri));
        p["diagnostics"].as_array().cloned().unwrap_or_default()
    }

    fn open(&self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "hujson", "version": 1, "text": text}}),
        );
    }

    fn at(
        &mut self,
        method: &str,
        uri: &str,
        line: u32,
        character: u32,
        extra: Value,
    ) -> Result<Value, ResponseError> {
        let mut params = json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}});
        if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        self.request(method, params)
    }

    fn stop(mut self) {
        self.request("shutdown", Value::Null).unwrap();
        self.notify("exit", Value::Null);
        let server = self.server.take().unwrap();
        assert!(server.join().unwrap().is_ok());
    }
}

/// The 0-based (line, character) of byte `offset` in `encoding`.
fn position(text: &str, offset: usize, encoding: &str) -> (u32, u32) {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count();
    let piece = &text[line_start..offset];
    let character = match encoding {
        "utf-8" => piece.len(),
        "utf-32" => piece.chars().count(),
        _ => piece.encode_utf16().count(),
    };
    (line as u32, character as u32)
}

fn range_of(text: &str, start: usize, end: usize, encoding: &str) -> Value {
    let (l1, c1) = position(text, start, encoding);
    let (l2, c2) = position(text, end, encoding);
    json!({"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}})
}

const URI: &str = "file:///nonexistent/policy.hujson";

// An emoji (two UTF-16 units, four bytes) and an accented letter before each finding.
const POLICY: &str = "{\n\t// 😀 the ops team, é\n\t\"groups\": {\"group:ops\": [\"a@example.com\"], /* 😀 */ \"group:ops\": [\"b@example.com\"]},\n\t\"grants\": [{\"src\": [/* 😀é */ \"tag:ci\"], \"dst\": [\"*\"], \"ip\": [\"*\"]}],\n}\n";

#[test]
fn diagnostics_are_check_s_findings_with_ranges_in_each_negotiated_encoding() {
    let expected =
        tailgrant::validate::check_text(POLICY, &tailgrant::validate::Options::default()).findings;
    let expected: Vec<_> = expected.all().cloned().collect();
    assert!(
        expected.iter().any(|d| d.code == "TG0201")
            && expected.iter().any(|d| !d.related.is_empty())
    );
    for encoding in ["utf-16", "utf-8", "utf-32"] {
        let mut c = Client::start(json!({}), &[encoding]);
        assert_eq!(c.capabilities["positionEncoding"], json!(encoding));
        c.open(URI, POLICY);
        let got = c.diagnostics(URI);
        assert_eq!(got.len(), expected.len(), "{got:#?}");
        for (g, d) in got.iter().zip(&expected) {
            assert_eq!(g["code"], json!(d.code.id));
            let message = match &d.help {
                Some(h) => format!("{}\nhelp: {h}", d.message),
                None => d.message.clone(),
            };
            assert_eq!(g["message"], json!(message));
            assert_eq!(
                g["range"],
                range_of(POLICY, d.span.start, d.span.end, encoding),
                "{encoding} {}",
                d.code
            );
            assert_eq!(g["severity"], json!(if d.is_error() { 1 } else { 2 }));
            assert_eq!(
                g["codeDescription"]["href"],
                json!(tailgrant::codes::help_uri(d.code.id))
            );
            let related: Vec<Value> = d
                .related
                .iter()
                .map(|r| json!({"location": {"uri": URI, "range": range_of(POLICY, r.span.start, r.span.end, encoding)}, "message": r.label}))
                .collect();
            assert_eq!(
                g["relatedInformation"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
                related
            );
        }
        c.stop();
    }
}

#[test]
fn the_utf16_range_of_a_finding_after_an_emoji_counts_two_units_for_it() {
    let mut c = Client::start(json!({}), &[]);
    c.open(URI, POLICY);
    let tag = c
        .diagnostics(URI)
        .into_iter()
        .find(|d| d["code"] == "TG0201")
        .unwrap();
    let line = POLICY.lines().nth(3).unwrap();
    let bytes = line.find("\"tag:ci\"").unwrap();
    // Before it: "\t{\"grants\"..." with one emoji (4 bytes, 2 units) and "é" (2 bytes, 1 unit).
    assert_eq!(
        tag["range"]["start"],
        json!({"line": 3, "character": bytes - 2 - 1})
    );
    c.stop();
}

#[test]
fn only_the_newest_text_is_published_after_a_burst_of_edits() {
    let mut c = Client::start(json!({"debounceMs": 300}), &[]);
    c.open(URI, "{}");
    for version in 2..=6 {
        let text = format!("{{\"grants\": [{{\"src\": [\"tag:v{version}\"], \"dst\": [\"*\"], \"ip\": [\"*\"]}}]}}");
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": version}, "contentChanges": [{"text": text}]}),
        );
    }
    let p = c.notification("textDocument/publishDiagnostics", Some(URI));
    assert_eq!(p["version"], json!(6));
    assert!(p["diagnostics"][0]["message"]
        .as_str()
        .unwrap()
        .contains("tag:v6"));
    // Nothing stale arrives after it.
    std::thread::sleep(Duration::from_millis(600));
    let hover = c.at("textDocument/hover", URI, 0, 0, json!({}));
    assert!(hover.is_ok());
    assert!(
        c.inbox
            .iter()
            .all(|n| n.method != "textDocument/publishDiagnostics"),
        "{:?}",
        c.inbox
    );
    c.stop();
}

#[test]
fn incremental_edits_are_applied_in_the_negotiated_encoding() {
    let mut c = Client::start(json!({}), &["utf-16"]);
    let text = "{/* 😀 */ \"grants\": []}";
    c.open(URI, text);
    assert_eq!(c.diagnostics(URI), Vec::<Value>::new());
    // Insert a grant inside the brackets: after "{/* 😀 */ \"grants\": [" (UTF-16: 20 units).
    let at = text.find('[').unwrap() + 1;
    let (line, ch) = position(text, at, "utf-16");
    assert_eq!((line, ch), (0, 21));
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{
            "range": {"start": {"line": line, "character": ch}, "end": {"line": line, "character": ch}},
            "text": "{\"src\": [\"group:x\"], \"dst\": [\"*\"], \"ip\": [\"*\"]}"}]}),
    );
    let d = c.diagnostics(URI);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0]["code"], json!("TG0202"));
    // The group starts 9 bytes (all ASCII) into the inserted grant.
    assert_eq!(
        d[0]["range"]["start"],
        json!({"line": 0, "character": 21 + 9})
    );
    c.stop();
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("fixtures/assertions/{name}")).unwrap()
}

/// A directory with the assertions fixtures: `policy.hujson`, `tailnet.json` beside it.
fn fixture_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["policy.hujson", "tailnet.json"] {
        std::fs::write(dir.path().join(name), fixture(name)).unwrap();
    }
    dir
}

fn file_uri(path: &std::path::Path) -> String {
    format!("file://{}", path.display())
}

#[test]
fn a_sidecar_gets_the_assertion_failures_of_tailgrant_test() {
    let dir = fixture_dir();
    let policy_path = dir.path().join("policy.hujson");
    let sidecar = fixture("TG0502-fail.tests.hujson");
    let uri = file_uri(&dir.path().join("policy.tests.hujson"));
    let mut c = Client::start(json!({}), &[]);
    c.open(&uri, &sidecar);
    let got = c.diagnostics(&uri);

    let policy_text = fixture("policy.hujson");
    let tailnet = tailgrant::model::tailnet::Tailnet::from_text(&fixture("tailnet.json")).unwrap();
    let (policy, _) = tailgrant::model::policy::parse_policy(&policy_text).unwrap();
    let failures =
        tailgrant::tools::assertions::run_assertions(&policy, &tailnet, &sidecar).unwrap();
    assert!(!failures.is_empty());
    assert_eq!(got.len(), failures.len(), "{got:#?}");
    let lines = tailgrant::span::LineIndex::new(&policy_text);
    for (g, f) in got.iter().zip(&failures) {
        let d = tailgrant::tools::assertions::failure_diagnostic(f, |span| {
            let (l, col) = lines.position(&policy_text, span.start);
            format!("{}:{l}:{col}", policy_path.display())
        });
        assert_eq!(g["code"], json!("TG0502"));
        assert_eq!(
            g["message"],
            json!(format!("{}\nhelp: {}", d.message, d.help.unwrap()))
        );
        assert_eq!(
            g["range"],
            range_of(&sidecar, f.span.start, f.span.end, "utf-16")
        );
        let related = g["relatedInformation"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(related.len(), f.policy_spans.len());
        for (r, s) in related.iter().zip(&f.policy_spans) {
            assert_eq!(r["location"]["uri"], json!(file_uri(&policy_path)));
            assert_eq!(
                r["location"]["range"],
                range_of(&policy_text, s.start, s.end, "utf-16")
            );
        }
    }
    // A malformed sidecar is TG0501, as `tailgrant test` reports it.
    let malformed = fixture("TG0501-malformed.tests.hujson");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": malformed}]}),
    );
    let got = c.diagnostics(&uri);
    let expected = tailgrant::tools::assertions::parse_assertions(&malformed).unwrap_err();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0]["code"],
        json!(tailgrant::codes::MALFORMED_ASSERTIONS.id)
    );
    assert_eq!(
        got[0]["range"],
        range_of(&malformed, expected.span.start, expected.span.end, "utf-16")
    );
    c.stop();
}

const NAMED: &str = r#"{
  "groups": {"group:ops": ["a@example.com"], "group:idle": ["b@example.com"]},
  "tagOwners": {"tag:ci": ["group:ops"], "tag:web": ["group:ops"]},
  "hosts": {"db": "100.64.0.10"},
  "grants": [
    {"src": ["group:ops", "tag:ci"], "dst": ["tag:web", "db"], "ip": ["tcp:443"]},
    {"src": ["tag:ci"], "dst": ["tag:relay-eu"], "app": {"tailscale.com/cap/relay": []}},
  ],
  "acls": [{"action": "accept", "src": ["group:ops"], "dst": ["tag:web:22"]}],
}
"#;

/// The (line, character) of the `n`th occurrence of `needle` plus `delta` bytes, in UTF-16.
fn find(text: &str, needle: &str, n: usize, delta: usize) -> (u32, u32) {
    let at = text.match_indices(needle).nth(n).unwrap().0 + delta;
    position(text, at, "utf-16")
}

fn span_of(text: &str, needle: &str, n: usize) -> Value {
    let at = text.match_indices(needle).nth(n).unwrap().0;
    range_of(text, at, at + needle.len(), "utf-16")
}

#[test]
fn hover_describes_selectors_with_their_nodes_fields_capabilities_and_codes() {
    let dir = fixture_dir();
    let uri = file_uri(&dir.path().join("policy.hujson"));
    let text = fixture("policy.hujson");
    let mut c = Client::start(json!({}), &[]);
    c.open(&uri, &text);
    let hover = |c: &mut Client, needle: &str, n: usize| {
        let (l, ch) = find(&text, needle, n, 2);
        let h = c.at("textDocument/hover", &uri, l, ch, json!({})).unwrap();
        h["contents"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    // A selector, with the tailnet found beside the policy.
    let ci = hover(&mut c, "\"tag:ci\"", 1);
    assert!(ci.contains("**tag** `tag:ci`"), "{ci}");
    assert!(
        ci.contains("Names 2 node(s)") && ci.contains("`ci-1`: 100.64.0.5, fd7a:115c:a1e0::5"),
        "{ci}"
    );
    // A field: its schema description.
    let src = hover(&mut c, "\"src\"", 0);
    let description = tailgrant::tools::schema::policy_schema()["$defs"]["grant"]["properties"]
        ["src"]["description"]
        .as_str()
        .map(str::to_string);
    assert!(description.is_some_and(|d| src.contains(&d)), "{src}");
    // A capability name and a node attribute.
    assert!(
        hover(&mut c, "\"tailscale.com/cap/relay\"", 0).contains("allocating peer-relay endpoints")
    );
    assert!(
        hover(&mut c, "\"disable-relay-server\"", 0).contains("no longer serves as a peer relay")
    );
    c.stop();

    // A finding: its code's documentation.
    let mut c = Client::start(json!({}), &[]);
    c.open(URI, NAMED);
    let (l, ch) = find(NAMED, "tag:relay-eu", 0, 1);
    let h = c.at("textDocument/hover", URI, l, ch, json!({})).unwrap();
    let value = h["contents"]["value"].as_str().unwrap();
    let doc = tailgrant::codes::lookup("TG0201").unwrap();
    assert!(
        value.contains("### TG0201") && value.contains(doc.summary),
        "{value}"
    );
    c.stop();
}

fn labels(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn completion_offers_what_may_stand_at_the_cursor() {
    let mut c = Client::start(json!({}), &[]);
    let typing = "{\"groups\": {\"group:ops\": []}, \"tagOwners\": {\"tag:web\": []},\n\"grants\": [{\"src\": [\"gr";
    c.open(URI, typing);
    let end = position(typing, typing.len(), "utf-16");
    let src = c
        .at("textDocument/completion", URI, end.0, end.1, json!({}))
        .unwrap();
    let got = labels(&src);
    for want in ["group:ops", "tag:web", "autogroup:member", "*"] {
        assert!(got.contains(&want.to_string()), "{want} in {got:?}");
    }
    assert!(!got.contains(&"autogroup:self".to_string()), "{got:?}");
    // The edit replaces what was typed inside the quotes.
    let item = src
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "group:ops")
        .unwrap();
    assert_eq!(
        item["textEdit"]["range"],
        range_of(typing, typing.len() - 2, typing.len(), "utf-16")
    );
    assert_eq!(item["textEdit"]["newText"], json!("group:ops"));

    let cases: [(&str, &[&str], &[&str]); 7] = [
        (
            "{\"hosts\": {\"db\": \"10.0.0.1\"}, \"groups\": {\"group:ops\": []}, \"tagOwners\": {\"tag:a\": [\"",
            &["group:ops", "autogroup:admin"],
            &["db", "autogroup:self", "*"],
        ),
        (
            "{\"postures\": {\"posture:latest\": []}, \"grants\": [{\"srcPosture\": [\"",
            &["posture:latest"],
            &["autogroup:member"],
        ),
        (
            "{\"grants\": [{\"dst\": [\"",
            &["autogroup:self", "autogroup:internet"],
            &["autogroup:admin"],
        ),
        ("{\"", &["grants", "tagOwners", "nodeAttrs"], &["src"]),
        (
            "{\"grants\": [{\"",
            &["src", "dst", "ip", "app", "via"],
            &["action"],
        ),
        ("{\"grants\": [{\"ip\": [\"", &["tcp", "udp", "icmp"], &[]),
        (
            "{\"nodeAttrs\": [{\"attr\": [\"",
            &["funnel", "disable-relay-server"],
            &[],
        ),
    ];
    for (text, present, absent) in cases {
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": text}]}),
        );
        let end = position(text, text.len(), "utf-16");
        let got = labels(
            &c.at("textDocument/completion", URI, end.0, end.1, json!({}))
                .unwrap(),
        );
        for p in present {
            assert!(got.contains(&p.to_string()), "{p} at {text}: {got:?}");
        }
        for a in absent {
            assert!(!got.contains(&a.to_string()), "{a} at {text}: {got:?}");
        }
    }
    let text = "{\"grants\": [{\"app\": {\"";
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 3}, "contentChanges": [{"text": text}]}),
    );
    let got = labels(
        &c.at(
            "textDocument/completion",
            URI,
            0,
            text.len() as u32,
            json!({}),
        )
        .unwrap(),
    );
    assert!(
        got.contains(&"tailscale.com/cap/relay".to_string()),
        "{got:?}"
    );
    c.stop();
}

#[test]
fn definition_references_and_rename_cover_every_use_of_a_name() {
    let mut c = Client::start(json!({}), &[]);
    c.open(URI, NAMED);
    // From the ACL's `tag:web:22` to the definition in tagOwners.
    let (l, ch) = find(NAMED, "tag:web:22", 0, 3);
    let def = c
        .at("textDocument/definition", URI, l, ch, json!({}))
        .unwrap();
    assert_eq!(
        def,
        json!({"uri": URI, "range": span_of(NAMED, "tag:web", 0)})
    );
    // Every use of group:ops, with and without the definition.
    let (l, ch) = find(NAMED, "group:ops", 0, 1);
    let refs = c
        .at(
            "textDocument/references",
            URI,
            l,
            ch,
            json!({"context": {"includeDeclaration": true}}),
        )
        .unwrap();
    let expected: Vec<Value> = (0..5)
        .map(|n| json!({"uri": URI, "range": span_of(NAMED, "group:ops", n)}))
        .collect();
    assert_eq!(refs, json!(expected));
    let refs = c
        .at(
            "textDocument/references",
            URI,
            l,
            ch,
            json!({"context": {"includeDeclaration": false}}),
        )
        .unwrap();
    assert_eq!(refs, json!(expected[1..]));
    // A host, referred to by its bare name.
    let (l, ch) = find(NAMED, "\"db\"", 1, 1);
    let def = c
        .at("textDocument/definition", URI, l, ch, json!({}))
        .unwrap();
    assert_eq!(def["range"], span_of(NAMED, "db", 0));

    let (l, ch) = find(NAMED, "tag:ci", 1, 2);
    let prepared = c
        .at("textDocument/prepareRename", URI, l, ch, json!({}))
        .unwrap();
    assert_eq!(
        prepared,
        json!({"range": span_of(NAMED, "tag:ci", 1), "placeholder": "tag:ci"})
    );
    let edit = c
        .at(
            "textDocument/rename",
            URI,
            l,
            ch,
            json!({"newName": "tag:runner"}),
        )
        .unwrap();
    let edits: Vec<Value> = (0..3)
        .map(|n| json!({"range": span_of(NAMED, "tag:ci", n), "newText": "tag:runner"}))
        .collect();
    assert_eq!(edit, json!({"changes": {URI: edits}}));
    // A new name of another kind, or one already defined, is refused.
    for bad in ["group:ci", "tag:web", "tag:a b"] {
        let e = c
            .at("textDocument/rename", URI, l, ch, json!({"newName": bad}))
            .unwrap_err();
        assert!(
            e.message.starts_with("cannot rename `tag:ci`"),
            "{bad}: {}",
            e.message
        );
    }
    // Nothing to rename on a keyword.
    let (l, ch) = find(NAMED, "accept", 0, 1);
    assert_eq!(
        c.at("textDocument/prepareRename", URI, l, ch, json!({}))
            .unwrap(),
        Value::Null
    );
    c.stop();
}

#[test]
fn document_symbols_are_the_sections_and_their_definitions() {
    let mut c = Client::start(json!({}), &[]);
    c.open(URI, NAMED);
    let symbols = c
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": URI}}),
        )
        .unwrap();
    let names: Vec<&str> = symbols
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["groups", "tagOwners", "hosts", "grants", "acls"]);
    let groups = &symbols[0];
    let children: Vec<&str> = groups["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["group:ops", "group:idle"]);
    assert_eq!(
        groups["children"][0]["selectionRange"],
        span_of(NAMED, "\"group:ops\"", 0)
    );
    assert_eq!(symbols[3]["children"][1]["name"], json!("grants #2"));
    c.stop();
}

fn apply(text: &str, edits: &[Value]) -> String {
    // Edits of one action do not overlap; apply them from the last.
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            let offset = |p: &Value| {
                let line = p["line"].as_u64().unwrap() as usize;
                let ch = p["character"].as_u64().unwrap() as usize;
                let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
                let units: Vec<u16> = text[start..].encode_utf16().take(ch).collect();
                start + String::from_utf16_lossy(&units).len()
            };
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_string();
    for (s, e, t) in spans {
        out.replace_range(s..e, &t);
    }
    out
}

fn actions_at(c: &mut Client, text: &str, needle: &str) -> Vec<Value> {
    let at = text.find(needle).unwrap();
    let range = range_of(text, at, at + needle.len(), "utf-16");
    c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": range, "context": {"diagnostics": []}}),
    )
    .unwrap()
    .as_array()
    .cloned()
    .unwrap_or_default()
}

fn codes(text: &str) -> Vec<&'static str> {
    tailgrant::validate::check_text(text, &tailgrant::validate::Options::default())
        .findings
        .all()
        .map(|d| d.code.id)
        .collect()
}

#[test]
fn quick_fixes_correct_a_typo_remove_an_unused_name_and_add_a_tag_owner() {
    let text = "{\n  \"groups\": {\"group:ops\": [\"a@example.com\"]},\n  \"hosts\": {\n    \"db\": \"100.64.0.10\",\n    \"old\": \"100.64.0.11\", // retired\n  },\n  \"grants\": [{\"src\": [\"group:op\"], \"dst\": [\"tag:web\", \"db\"], \"ip\": [\"*\"]}],\n  \"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"tag:web:443\"]}],\n}\n";
    let mut c = Client::start(json!({}), &[]);
    c.open(URI, text);
    let typo = actions_at(&mut c, text, "group:op\"");
    assert_eq!(typo.len(), 1, "{typo:#?}");
    assert_eq!(
        typo[0]["title"],
        json!("Replace `group:op` with `group:ops`")
    );
    assert_eq!(typo[0]["kind"], json!("quickfix"));
    assert_eq!(typo[0]["diagnostics"][0]["code"], json!("TG0202"));
    let fixed = apply(text, typo[0]["edit"]["changes"][URI].as_array().unwrap());
    assert_eq!(fixed, text.replace("\"group:op\"", "\"group:ops\""));

    let unused = actions_at(&mut c, text, "\"old\"");
    assert_eq!(unused.len(), 1, "{unused:#?}");
    let removed = apply(text, unused[0]["edit"]["changes"][URI].as_array().unwrap());
    assert_eq!(
        removed,
        text.replace("    \"old\": \"100.64.0.11\", // retired\n", "")
    );

    let owner = actions_at(&mut c, text, "tag:web:443");
    assert_eq!(owner.len(), 1, "{owner:#?}");
    let added = apply(text, owner[0]["edit"]["changes"][URI].as_array().unwrap());
    assert_eq!(
        added,
        text.replace(
            "{\n  \"groups\"",
            "{\n  \"tagOwners\": {\"tag:web\": []},\n  \"groups\""
        )
    );
    assert!(!codes(&added).contains(&"TG0201"), "{:?}", codes(&added));
    c.stop();
}

#[test]
fn formatting_is_tailgrant_fmt_s_output_and_refuses_text_that_does_not_parse() {
    let text = "{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}], // 😀 all\n\"hosts\": {}}";
    let mut c = Client::start(json!({}), &[]);
    c.open(URI, text);
    let params =
        json!({"textDocument": {"uri": URI}, "options": {"tabSize": 2, "insertSpaces": true}});
    let edits = c
        .request("textDocument/formatting", params.clone())
        .unwrap();
    let expected = tailgrant::syntax::fmt::format(text).unwrap();
    assert_eq!(
        edits,
        json!([{"range": range_of(text, 0, text.len(), "utf-16"), "newText": expected}])
    );
    // Already formatted: no edit.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": expected}]}),
    );
    assert_eq!(
        c.request("textDocument/formatting", params.clone())
            .unwrap(),
        json!([])
    );
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 3}, "contentChanges": [{"text": "{\"acls\": ["}]}),
    );
    let e = c.request("textDocument/formatting", params).unwrap_err();
    assert!(
        e.message.starts_with("not formatted:") && e.message.contains("TG0001"),
        "{}",
        e.message
    );
    c.stop();
}

#[test]
fn hostile_requests_get_errors_and_the_server_keeps_answering() {
    let mut c = Client::start(json!({}), &[]);
    // An unknown method.
    let e = c
        .request(
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": URI}}),
        )
        .unwrap_err();
    assert_eq!(e.code, lsp_server::ErrorCode::MethodNotFound as i32);
    // A request about a document that is not open.
    let e = c
        .at("textDocument/hover", URI, 0, 0, json!({}))
        .unwrap_err();
    assert_eq!(e.code, lsp_server::ErrorCode::InvalidParams as i32);
    // A change to a document that is not open.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": "{}"}]}),
    );
    let shown = c.notification("window/showMessage", None);
    assert!(
        shown["message"].as_str().unwrap().contains("not open"),
        "{shown}"
    );
    // Positions past the end of the text, and inside a surrogate pair.
    c.open(URI, "{\"hosts\": {\"😀\": \"10.0.0.1\"}}\n");
    let e = c
        .at("textDocument/hover", URI, 7, 0, json!({}))
        .unwrap_err();
    assert_eq!(e.code, lsp_server::ErrorCode::InvalidParams as i32);
    assert!(c.at("textDocument/hover", URI, 0, 13, json!({})).is_ok());
    assert!(c
        .at("textDocument/completion", URI, 0, u32::MAX, json!({}))
        .is_ok());
    // Malformed parameters.
    let e = c
        .request("textDocument/hover", json!({"nonsense": true}))
        .unwrap_err();
    assert_eq!(e.code, lsp_server::ErrorCode::InvalidParams as i32);
    // An edit whose range is past the end: the document is dropped, not corrupted.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 3}, "contentChanges": [{
            "range": {"start": {"line": 99, "character": 0}, "end": {"line": 99, "character": 0}}, "text": "x"}]}),
    );
    let shown = c.notification("window/showMessage", None);
    assert!(
        shown["message"]
            .as_str()
            .unwrap()
            .contains("close and reopen"),
        "{shown}"
    );
    assert!(c.at("textDocument/hover", URI, 0, 0, json!({})).is_err());
    c.stop();
}

#[test]
fn a_huge_document_is_refused_with_a_diagnostic_not_checked_for_minutes() {
    let mut c = Client::start(json!({}), &[]);
    let huge = format!(
        "{{\"hosts\": {{\"a\": \"{}\"}}}}",
        "x".repeat(tailgrant::lsp::MAX_DOCUMENT)
    );
    c.open(URI, &huge);
    let d = c.diagnostics(URI);
    assert_eq!(d.len(), 1);
    assert!(
        d[0]["message"]
            .as_str()
            .unwrap()
            .contains("it was not checked"),
        "{}",
        d[0]["message"]
    );
    let e = c
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": URI}}),
        )
        .unwrap_err();
    assert!(e.message.contains("larger than"), "{}", e.message);
    c.stop();
}

#[test]
fn nesting_as_deep_as_the_parser_allows_is_answered() {
    let depth = 9_000;
    let text = format!("{{\"grants\": {}{}}}", "[".repeat(depth), "]".repeat(depth));
    let mut c = Client::start(json!({}), &[]);
    c.open(URI, &text);
    assert!(!c.diagnostics(URI).is_empty());
    let mid = (0, 12 + depth as u32 / 2);
    for method in [
        "textDocument/hover",
        "textDocument/completion",
        "textDocument/references",
    ] {
        let extra = if method.ends_with("references") {
            json!({"context": {"includeDeclaration": true}})
        } else {
            json!({})
        };
        let answer = c.at(method, URI, mid.0, mid.1, extra);
        assert!(answer.is_ok(), "{method}: {answer:?}");
    }
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": URI}}),
    );
    assert!(symbols.is_ok());
    c.stop();
}

#[test]
fn a_tailnet_option_relative_to_the_workspace_root_is_used_for_hover() {
    let dir = fixture_dir();
    std::fs::rename(
        dir.path().join("tailnet.json"),
        dir.path().join("nodes.json"),
    )
    .unwrap();
    let uri = file_uri(&dir.path().join("policy.hujson"));
    let text = fixture("policy.hujson");
    let (server_end, client_end) = Connection::memory();
    let server = std::thread::spawn(move || tailgrant::lsp::serve(&server_end));
    let mut c = Client {
        conn: client_end,
        server: Some(server),
        next_id: 0,
        inbox: VecDeque::new(),
        capabilities: Value::Null,
    };
    c.request(
        "initialize",
        json!({"processId": null, "rootUri": file_uri(dir.path()), "capabilities": {},
               "initializationOptions": {"tailnet": "nodes.json"}}),
    )
    .unwrap();
    c.notify("initialized", json!({}));
    c.open(&uri, &text);
    let (l, ch) = find(&text, "\"tag:web\"", 1, 2);
    let h = c.at("textDocument/hover", &uri, l, ch, json!({})).unwrap();
    let value = h["contents"]["value"].as_str().unwrap();
    assert!(value.contains("`web-1`: 100.64.0.10"), "{value}");
    c.stop();
}

#[test]
fn a_rename_reaches_ipset_entries_and_ssh_recorders() {
    let text = r#"{
  "hosts": {"db": "10.0.0.5"},
  "ipsets": {"ipset:a": ["10.0.0.0/8", "remove db"], "ipset:b": ["add ipset:a", "db"]},
  "tagOwners": {"tag:rec": [], "tag:web": []},
  "ssh": [{"action": "accept", "src": ["autogroup:member"], "dst": ["tag:web"], "users": ["root"], "recorder": ["tag:rec"]}],
  "grants": [{"src": ["ipset:b"], "dst": ["db"], "ip": ["*"]}],
}
"#;
    let mut c = Client::start(json!({}), &[]);
    c.open(URI, text);
    for (needle, nth, new, count) in [
        ("db", 0, "database", 4),
        ("ipset:a", 0, "ipset:lan", 2),
        ("tag:rec", 0, "tag:recorder", 2),
    ] {
        let (l, ch) = find(text, needle, nth, 1);
        let edit = c
            .at("textDocument/rename", URI, l, ch, json!({"newName": new}))
            .unwrap();
        let edits = edit["changes"][URI].as_array().unwrap();
        assert_eq!(edits.len(), count, "{needle}: {edits:#?}");
        let renamed = apply(text, edits);
        let before = codes(text);
        assert_eq!(codes(&renamed), before, "{needle} -> {new}: {renamed}");
    }
    c.stop();
}

#[test]
fn an_unusable_tailnet_file_is_said_once_and_the_check_goes_on_without_it() {
    let mut c = Client::start(json!({"tailnet": "/nonexistent/tailnet.json"}), &[]);
    c.open(URI, POLICY);
    let shown = c.notification("window/showMessage", None);
    let message = shown["message"].as_str().unwrap();
    assert!(
        message.contains("/nonexistent/tailnet.json") && message.contains("without a tailnet"),
        "{message}"
    );
    assert!(c.diagnostics(URI).iter().any(|d| d["code"] == "TG0201"));
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": "{}"}]}),
    );
    assert_eq!(c.diagnostics(URI), Vec::<Value>::new());
    assert!(
        c.inbox.iter().all(|n| n.method != "window/showMessage"),
        "{:?}",
        c.inbox
    );
    c.stop();
}

#[test]
fn a_sidecar_whose_assertions_cannot_run_says_why() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.hujson"), fixture("policy.hujson")).unwrap();
    let uri = file_uri(&dir.path().join("policy.tests.hujson"));
    let mut c = Client::start(json!({}), &[]);
    c.open(&uri, &fixture("TG0502-fail.tests.hujson"));
    let got = c.diagnostics(&uri);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["severity"], json!(3));
    let message = got[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("the assertions were not run: no tailnet"),
        "{message}"
    );
    // With a tailnet but a policy that has errors.
    std::fs::write(dir.path().join("tailnet.json"), fixture("tailnet.json")).unwrap();
    let policy_uri = file_uri(&dir.path().join("policy.hujson"));
    c.open(
        &policy_uri,
        "{\"grants\": [{\"src\": [\"tag:nope\"], \"dst\": [\"*\"], \"ip\": [\"*\"]}]}",
    );
    let got = loop {
        let p = c.notification("textDocument/publishDiagnostics", Some(&uri));
        let d = p["diagnostics"].as_array().cloned().unwrap_or_default();
        if d.iter().any(|d| {
            d["message"]
                .as_str()
                .unwrap_or_default()
                .contains("has errors")
        }) {
            break d;
        }
    };
    assert_eq!(got.len(), 1, "{got:#?}");
    c.stop();
}

/// (code, severity, message with help, start line, start column, end line, end column), the
/// positions 0-based in code points.
type Finding = (String, String, String, u64, u64, u64, u64);

#[test]
fn every_check_fixture_gets_the_cli_s_findings_at_the_cli_s_places() {
    let mut c = Client::start(json!({}), &["utf-32"]);
    let mut compared = 0;
    for entry in std::fs::read_dir("fixtures/check").unwrap() {
        let path = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // not UTF-8: an editor never sends such a text
        };
        let out = assert_cmd::Command::cargo_bin("tailgrant")
            .unwrap()
            .args(["check", "--format", "json", "--max-findings", "0"])
            .arg(&path)
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut cli: Vec<Finding> = report["files"][0]["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                let message = match d["help"].as_str() {
                    Some(h) => format!("{}\nhelp: {h}", d["message"].as_str().unwrap()),
                    None => d["message"].as_str().unwrap().to_string(),
                };
                let n = |k: &str| d[k].as_u64().unwrap() - 1;
                (
                    d["code"].as_str().unwrap().to_string(),
                    d["severity"].as_str().unwrap().to_string(),
                    message,
                    n("line"),
                    n("column"),
                    n("end_line"),
                    n("end_column"),
                )
            })
            .collect();
        let uri = format!(
            "file:///nonexistent/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        c.open(&uri, &text);
        let mut lsp: Vec<Finding> = c
            .diagnostics(&uri)
            .iter()
            .map(|d| {
                let n = |a: &str, b: &str| d["range"][a][b].as_u64().unwrap();
                let severity = if d["severity"] == 1 {
                    "error"
                } else {
                    "warning"
                };
                (
                    d["code"].as_str().unwrap().to_string(),
                    severity.to_string(),
                    d["message"].as_str().unwrap().to_string(),
                    n("start", "line"),
                    n("start", "character"),
                    n("end", "line"),
                    n("end", "character"),
                )
            })
            .collect();
        cli.sort();
        lsp.sort();
        assert_eq!(lsp, cli, "{}", path.display());
        compared += 1;
    }
    assert!(compared >= 50, "{compared} fixtures compared");
    c.stop();
}

/// The `dialect` option: a policy only Headscale accepts (a `#` key in an ACL entry) has an
/// error under the default, none under `headscale`; any other value is reported.
#[test]
fn the_dialect_option_checks_by_headscales_rules() {
    let policy =
        r##"{"acls": [{"#meta": "x", "action": "accept", "src": ["*"], "dst": ["*:*"]}]}"##;
    let codes = |init: Value| {
        let mut c = Client::start(init, &["utf-16"]);
        c.open(URI, policy);
        let got: Vec<Value> = c
            .diagnostics(URI)
            .iter()
            .map(|d| d["code"].clone())
            .collect();
        c.stop();
        got
    };
    assert_eq!(codes(json!({})), [json!("TG0101")]);
    assert_eq!(codes(json!({"dialect": "tailscale"})), [json!("TG0101")]);
    assert!(codes(json!({"dialect": "headscale"})).is_empty());
    let mut c = Client::start(json!({"dialect": "headsale"}), &["utf-16"]);
    let shown = c.notification("window/showMessage", None);
    assert!(
        shown["message"].as_str().unwrap().contains("\"headsale\""),
        "{shown}"
    );
    c.stop();
}
