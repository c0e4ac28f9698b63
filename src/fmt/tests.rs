use super::*;
use jsonc_parser::tokens::Token;
use jsonc_parser::{Scanner, ScannerOptions};
use proptest::prelude::*;

/// Every comment of `text`, sorted; line comments without trailing blanks.
fn comments(text: &str) -> Vec<String> {
    let mut scanner = Scanner::new(text, &ScannerOptions::default());
    let mut out = Vec::new();
    while let Ok(Some(token)) = scanner.scan() {
        let raw = &text[scanner.token_start()..scanner.token_end()];
        match token {
            Token::CommentLine(_) => out.push(raw.trim_end().to_string()),
            Token::CommentBlock(_) => out.push(raw.to_string()),
            _ => {}
        }
    }
    out.sort();
    out
}

/// Formats `input`, checks the three properties and returns the output.
fn fmt(input: &str) -> String {
    let out = format(input).unwrap_or_else(|e| panic!("{input:?}: {e:?}"));
    let again = format(&out).unwrap();
    assert_eq!(again, out, "not idempotent for {input:?}");
    let (a, _) = hujson::parse(input).unwrap();
    let (b, _) = hujson::parse(&out).unwrap();
    assert_eq!(a.to_json(), b.to_json(), "meaning changed for {input:?}");
    assert_eq!(comments(input), comments(&out), "comments for {input:?}");
    out
}

#[test]
fn short_one_line_values_stay_on_one_line() {
    assert_eq!(
        fmt("{\"a\":[1,2,3],\"b\":{\"c\":true}}"),
        "{\"a\": [1, 2, 3], \"b\": {\"c\": true}}\n"
    );
    assert_eq!(fmt("  [ ]  "), "[]\n");
    assert_eq!(fmt("\"s\""), "\"s\"\n");
}

#[test]
fn a_line_break_inside_expands_with_tabs_and_trailing_commas() {
    assert_eq!(
        fmt("{\"a\": [1, 2],\n \"bb\": {\"c\": null}}"),
        "{\n\t\"a\":  [1, 2],\n\t\"bb\": {\"c\": null},\n}\n"
    );
    assert_eq!(
        fmt("{\"a\": [\n1, 2]}"),
        "{\n\t\"a\": [\n\t\t1,\n\t\t2,\n\t],\n}\n"
    );
}

#[test]
fn wide_one_line_values_are_expanded_and_stay_expanded() {
    let long = format!(
        "{{\"a\": [\"{}\", \"{}\"]}}",
        "x".repeat(40),
        "y".repeat(40)
    );
    let out = fmt(&long);
    assert_eq!(
        out,
        format!(
            "{{\n\t\"a\": [\n\t\t\"{}\",\n\t\t\"{}\",\n\t],\n}}\n",
            "x".repeat(40),
            "y".repeat(40)
        )
    );
    // Exactly 80 characters fits.
    let fits = format!("[\"{}\"]", "z".repeat(76));
    assert_eq!(fits.chars().count(), 80);
    assert_eq!(fmt(&fits), format!("{fits}\n"));
}

#[test]
fn an_array_hugging_its_only_object_keeps_hugging() {
    let input = "{\"ssh\": [{\n\"action\": \"check\",\n\"src\": [\"*\"]}],\n}";
    assert_eq!(
        fmt(input),
        "{\n\t\"ssh\": [{\n\t\t\"action\": \"check\",\n\t\t\"src\":    [\"*\"],\n\t}],\n}\n"
    );
    // A line break of the array's own, or a second element, expands it.
    assert_eq!(fmt("[\n{\n\"a\": 1}]"), "[\n\t{\n\t\t\"a\": 1,\n\t},\n]\n");
    assert_eq!(
        fmt("[{\n\"a\": 1}, 2]"),
        "[\n\t{\n\t\t\"a\": 1,\n\t},\n\t2,\n]\n"
    );
    // Nested hugging, and an element that fits on one line inside a too-wide array.
    assert_eq!(fmt("[[{\n\"a\": 1}]]"), "[[{\n\t\"a\": 1,\n}]]\n");
    let wide = format!("[{{\"k\": \"{}\"}}]", "v".repeat(70));
    assert_eq!(wide.chars().count(), 81);
    assert_eq!(fmt(&wide), format!("[\n\t{},\n]\n", &wide[1..80]));
}

#[test]
fn trailing_commas_are_normalized() {
    assert_eq!(fmt("[1, 2,]"), "[1, 2]\n");
    assert_eq!(fmt("{\"a\": 1,}"), "{\"a\": 1}\n");
    assert_eq!(fmt("[\n1,\n2\n]"), "[\n\t1,\n\t2,\n]\n");
}

#[test]
fn values_align_only_within_a_run() {
    let input =
        "{\n\"a\": 1,\n\"long\": 2,\n\n\"x\": 3,\n// c\n\"yyyy\": 4,\n\"z\": {\n}, \"q\": 5}";
    assert_eq!(
        fmt(input),
        "{\n\t\"a\":    1,\n\t\"long\": 2,\n\n\t\"x\": 3,\n\t// c\n\t\"yyyy\": 4,\n\t\"z\":    {},\n\t\"q\":    5,\n}\n"
    );
    // A multi-line value breaks the run.
    assert_eq!(
        fmt("{\n\"a\": 1,\n\"bb\": [\n2],\n\"ccc\": 3}"),
        "{\n\t\"a\": 1,\n\t\"bb\": [\n\t\t2,\n\t],\n\t\"ccc\": 3,\n}\n"
    );
}

#[test]
fn end_of_line_comments_stay_at_end_of_line() {
    let input = "{\n\"a\": 1, // one\n\"b\": 2 // two\n}";
    assert_eq!(fmt(input), "{\n\t\"a\": 1, // one\n\t\"b\": 2, // two\n}\n");
    // A comment between a value and its comma on the next line.
    assert_eq!(fmt("[\n1 // one\n, 2\n]"), "[\n\t1, // one\n\t2,\n]\n");
    // Tailscale's admin console writes `}, // note`.
    assert_eq!(
        fmt("[\n{\n\"a\": 1,\n}, // iphone\n]"),
        "[\n\t{\n\t\t\"a\": 1,\n\t}, // iphone\n]\n"
    );
}

#[test]
fn comments_on_their_own_lines_keep_one_blank_line() {
    let input = "{\n\n\n// first\n\"a\": 1,\n\n\n\n// second\n\n\"b\": 2,\n\n// last\n\n}";
    assert_eq!(
        fmt(input),
        "{\n\t// first\n\t\"a\": 1,\n\n\t// second\n\n\t\"b\": 2,\n\n\t// last\n}\n"
    );
}

#[test]
fn comments_between_key_colon_and_value() {
    assert_eq!(
        fmt("{\"a\" /* k */ : /* v */ 1}"),
        "{\"a\" /* k */: /* v */ 1}\n"
    );
    assert_eq!(
        fmt("{\n\"a\" // k\n: 1,\n\"b\": 2}"),
        "{\n\t\"a\": // k\n\t\t1,\n\t\"b\": 2,\n}\n"
    );
    assert_eq!(
        fmt("{\n\"a\": // v\n{\n\"x\": 1}}"),
        "{\n\t\"a\": // v\n\t\t{\n\t\t\t\"x\": 1,\n\t\t},\n}\n"
    );
}

#[test]
fn comments_after_the_last_element_and_before_the_close() {
    assert_eq!(fmt("[1, 2 /* c */]"), "[1, 2 /* c */]\n");
    assert_eq!(fmt("[1, 2, /* c */]"), "[1, 2 /* c */]\n");
    assert_eq!(fmt("[1 /* a */, /* b */ 2]"), "[1 /* a */, /* b */ 2]\n");
    assert_eq!(fmt("[\n1,\n2\n// end\n]"), "[\n\t1,\n\t2,\n\t// end\n]\n");
    assert_eq!(fmt("{ // open\n\"a\": 1}"), "{ // open\n\t\"a\": 1,\n}\n");
    assert_eq!(
        fmt("{ /* open */ \"a\": 1,\n}"),
        "{ /* open */\n\t\"a\": 1,\n}\n"
    );
}

#[test]
fn comments_at_file_start_and_end() {
    assert_eq!(
        fmt("\n\n// head\n\n/* two */ {}\n\n\n// tail\n\n"),
        "// head\n\n/* two */ {}\n\n// tail\n"
    );
    assert_eq!(fmt("{} // end"), "{} // end\n");
    assert_eq!(fmt("{}/*x*/"), "{} /*x*/\n");
}

#[test]
fn empty_values_nested_and_with_comments() {
    assert_eq!(
        fmt("{\"a\": {\n}, \"b\": [ ]}"),
        "{\n\t\"a\": {},\n\t\"b\": [],\n}\n"
    );
    assert_eq!(
        fmt("{\"a\":{\"b\":{\"c\":[[]]}}}"),
        "{\"a\": {\"b\": {\"c\": [[]]}}}\n"
    );
    assert_eq!(fmt("[ /* only */ ]"), "[/* only */]\n");
    assert_eq!(fmt("[\n// only\n]"), "[\n\t// only\n]\n");
}

#[test]
fn strings_and_numbers_are_kept_as_written() {
    let input = "{\"k\\u00e9y\": \"\\u00e9t\\u00E9 \\\"q\\\" \\/ é 日本 🦀\", \"n\": [1.0E+2, -0.000, 1e-7, 10]}";
    let out = fmt(input);
    assert_eq!(out, format!("{input}\n"));
}

#[test]
fn block_comments_are_copied_verbatim() {
    let input = "{\n\t/*\n\t * multi\n\t *   line\n\t */\n\t\"a\": 1,\n}\n";
    assert_eq!(fmt(input), input);
    // A line break inside a block comment expands its array.
    assert_eq!(fmt("[1, /* a\nb */ 2]"), "[\n\t1, /* a\nb */\n\t2,\n]\n");
}

#[test]
fn crlf_line_endings_become_lf() {
    assert_eq!(
        fmt("{\r\n\"a\": 1, // c\r\n\r\n\"b\": 2\r\n}\r\n"),
        "{\n\t\"a\": 1, // c\n\n\t\"b\": 2,\n}\n"
    );
}

#[test]
fn syntax_errors_match_the_parser() {
    for text in ["{\"a\": 1", "{'a': 1}", "", "[1 2]", "{\"a\": 1} x"] {
        assert_eq!(
            format(text).unwrap_err(),
            hujson::parse(text).unwrap_err(),
            "{text}"
        );
    }
}

#[test]
fn realistic_policy() {
    let input = r#"// Example policy
{
  "groups": {"group:eng": ["alice@example.com", "bob@example.com"], "group:ops": ["carol@example.com"]},
  // Tag owners
  "tagOwners": {
    "tag:server": ["group:ops"], // servers
    "tag:ci": [],
  },
  "grants": [{
    "src": ["group:eng"],
    "dst": ["tag:server"],
    "ip": ["tcp:22", "tcp:443"],
  }],
}
"#;
    let out = fmt(input);
    insta::assert_snapshot!(out, @r#"
    // Example policy
    {
    	"groups": {
    		"group:eng": ["alice@example.com", "bob@example.com"],
    		"group:ops": ["carol@example.com"],
    	},
    	// Tag owners
    	"tagOwners": {
    		"tag:server": ["group:ops"], // servers
    		"tag:ci":     [],
    	},
    	"grants": [{
    		"src": ["group:eng"],
    		"dst": ["tag:server"],
    		"ip":  ["tcp:22", "tcp:443"],
    	}],
    }
    "#);
}

// ---- property test: generated HuJSON documents with comments ----

/// A generated value, printed with random whitespace and comments.
#[derive(Debug, Clone)]
enum Gen {
    Scalar(String),
    Array(Vec<Gen>),
    Object(Vec<(String, Gen)>),
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        (-1000i64..1000).prop_map(|n| n.to_string()),
        Just("1.5e+3".to_string()),
        Just("-0.0".to_string()),
        "[a-z:@*. é]{0,12}".prop_map(|s| format!("{s:?}")),
        Just("\"\\u00e9\\n\\\"\"".to_string()),
    ]
}

fn value() -> impl Strategy<Value = Gen> {
    scalar()
        .prop_map(Gen::Scalar)
        .prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Gen::Array),
                prop::collection::vec(("[a-z]{1,8}", inner), 0..6).prop_map(|members| {
                    // Distinct keys: duplicates are reported by `check`, not the formatter's concern.
                    let mut seen = std::collections::HashSet::new();
                    Gen::Object(
                        members
                            .into_iter()
                            .filter(|(k, _)| seen.insert(k.clone()))
                            .map(|(k, v)| (format!("\"{k}\""), v))
                            .collect(),
                    )
                }),
            ]
        })
}

/// What goes in each gap between tokens: whitespace, maybe with a comment.
fn gap() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(String::new()),
        2 => Just(" ".to_string()),
        2 => Just("\n\t".to_string()),
        1 => Just("\n\n\n".to_string()),
        1 => Just(" // line\n".to_string()),
        1 => Just("\n// own line\n".to_string()),
        1 => Just(" /* block */ ".to_string()),
        1 => Just("/* multi\n   line */".to_string()),
        1 => Just("\r\n".to_string()),
    ]
}

fn put_gap(gaps: &[String], at: &mut usize, out: &mut String) {
    if !gaps.is_empty() {
        out.push_str(&gaps[*at % gaps.len()]);
        *at += 1;
    }
}

/// Prints `g`, taking gaps from `gaps` in turn (cycling).
fn print(g: &Gen, gaps: &[String], at: &mut usize, out: &mut String) {
    match g {
        Gen::Scalar(s) => out.push_str(s),
        Gen::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                put_gap(gaps, at, out);
                print(item, gaps, at, out);
                put_gap(gaps, at, out);
                if i + 1 < items.len() || (*at).is_multiple_of(2) {
                    out.push(',');
                }
            }
            put_gap(gaps, at, out);
            out.push(']');
        }
        Gen::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                put_gap(gaps, at, out);
                out.push_str(k);
                put_gap(gaps, at, out);
                out.push(':');
                put_gap(gaps, at, out);
                print(v, gaps, at, out);
                put_gap(gaps, at, out);
                if i + 1 < members.len() || (*at).is_multiple_of(2) {
                    out.push(',');
                }
            }
            put_gap(gaps, at, out);
            out.push('}');
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn formatting_is_idempotent_meaning_and_comment_preserving(
        g in value(),
        gaps in prop::collection::vec(gap(), 1..24),
        head in gap(),
        tail in gap(),
    ) {
        let mut text = head;
        print(&g, &gaps, &mut 0, &mut text);
        text.push_str(&tail);
        fmt(&text);
    }
}
