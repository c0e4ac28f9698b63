use super::*;
use crate::codes;
use proptest::prelude::*;

/// tailscale/hujson's `Format` output for every input of its own tests that it accepts
/// (`testdataFormat` in `format_test.go`, and the accepted inputs of `testdata` in
/// `json_test.go`): `(input, formatted)`.
const HUJSON_VECTORS: &[(&str, &str)] = &[
    (" null ", "null\n"),
    ("//\u{1f60a} \r\t\n/*\r\t\n*/null//\u{1f60a} \r\t\n/*\r\t\n*/", "//\u{1f60a}\n/*\n */ null //\u{1f60a}\n/*\n */\n"),
    ("null//\n", "null //\n"),
    ("\"\\\"\\\\\\u0022\u{1f60a}\"", "\"\\\"\\\\\\\"\u{1f60a}\"\n"),
    ("3.14159E+435", "3.14159E+435\n"),
    (" { \"k\" : \"v\" } ", "{\"k\": \"v\"}\n"),
    (" { \"k\" : \"v\" , } ", "{\"k\": \"v\"}\n"),
    (" [ \"s\" ] ", "[\"s\"]\n"),
    (" [ \"s\" , ] ", "[\"s\"]\n"),
    (" /**/ [ /**/ null /**/ , /**/ false /**/ , /**/ true /**/ , /**/ \"string\" /**/ , /**/ 0 /**/ , /**/ {} /**/ , /**/ [] /**/ ] /**/ ", "/**/ [\n\t/**/ null /**/ ,\n\t/**/ false /**/ ,\n\t/**/ true /**/ ,\n\t/**/ \"string\" /**/ ,\n\t/**/ 0 /**/ ,\n\t/**/ {} /**/ ,\n\t/**/ [], /**/\n] /**/\n"),
    ("null", "null\n"),
    (" \r\n\t//comment\n\n\n/**/null \r\t//comment\n\n\n/**/\r\n\t", "//comment\n\n/**/ null //comment\n\n/**/\n"),
    ("//comment\r\n//comment\n\r/**\r/*/null", "//comment\n//comment\n/** /*/ null\n"),
    ("\"\\u000F\\u000a\\/\\ud83d\\ude02\"", "\"\\u000f\\n/\u{1f602}\"\n"),
    ("{\n\r\t \n\r\t }", "{}\n"),
    ("{/**/}", "{ /**/ }\n"),
    ("{//\r\t\n}", "{ //\n}\n"),
    ("[\n\r\t \n\r\t ]", "[]\n"),
    ("[/**/]", "[ /**/ ]\n"),
    ("[//\r\t\n]", "[ //\n]\n"),
    ("{\"name\" \t \t:\"value\" \t \t,\"name\":\"value\"}", "{\"name\": \"value\", \"name\": \"value\"}\n"),
    ("{\"name\"/**/:\"value\"/**/,\"name\":\"value\"}", "{\"name\" /**/ : \"value\" /**/ , \"name\": \"value\"}\n"),
    ("[null \t \t,null]", "[null, null]\n"),
    ("[null/**/,null]", "[null /**/ , null]\n"),
    ("[0//\n,]", "[\n\t0 //\n\t\t,\n]\n"),
    ("[/*\n*/\n]", "[ /*\n\t */\n]\n"),
    ("[/*\n\n*/\n]", "[ /*\n\n\t*/\n]\n"),
    ("[ /*\n\t\n\t*/\n]", "[ /*\n\n\t*/\n]\n"),
    ("[\n\t\t\t/*\n\n\t\tline1\n  line2\n\n\t\t\t*/\n\n\t\t]", "[\n\t/*\n\n\t\t\tline1\n\t  line2\n\n\t*/\n]\n"),
    ("[\n\t\t/*\n\n  \tline1\n  line2\n\n\t\t*/\n\n\t]", "[\n\t/*\n\n\t\tline1\n\tline2\n\n\t*/\n]\n"),
    ("[\n/*\n* line1\n* line2\n*/\n\t\t]", "[\n\t/*\n\t * line1\n\t * line2\n\t */\n]\n"),
    ("[\n/*\n\t* line1\n* line2\n*/\n\t]", "[\n\t/*\n\t\t* line1\n\t* line2\n\t*/\n]\n"),
    ("//\u{1f60a} \r\t\u{2639}\n/*\u{1f60a} \r\t\u{2639}\n*/null//\u{1f60a} \r\t\n/*\r\t\n*/", "//\u{1f60a}  \t\u{2639}\n/*\u{1f60a}  \t\u{2639}\n */ null //\u{1f60a}\n/*\n */\n"),
    ("\n\t\t\n\t\t   // LineComment   \n\t\t/* \n  BlockComment     \n\t\t\t */\n\n\t{\n\t\t\n\t\t// LineComment   \n\t /* \nBlockComment     \n\t\t  */\n\n\"name\"\n\n\t\t\n// LineComment   \n/* \nBlockComment     \n\t */\n\n:\n\t\t\n    // LineComment   \n/* \n BlockComment     \n\t */\n\n\t\t\t   \"value\"\n\n\t\t\n         \t\t\t   // LineComment   \n\t\t   \t   /* \n\t\t\t                         BlockComment     \n\t\t\t\t\t*/\n\n\t\t\t   ,\n\n\t\t\n\t    \t\t   // LineComment      \n   \t\t\t   /* \n\t\t\t   BlockComment     \n\t\t\t\t\t*/\n\t\t\t   \n\n\t}\n\n\t\t\t\n// LineComment   \n/* \nBlockComment     \n\t */\n\n\n\n\t ", "// LineComment\n/*\nBlockComment\n*/\n\n{\n\t// LineComment\n\t/*\n\tBlockComment\n\t*/\n\n\t\"name\"\n\t\t// LineComment\n\t\t/*\n\t\tBlockComment\n\t\t*/\n\t\t:\n\t\t// LineComment\n\t\t/*\n\t\tBlockComment\n\t\t*/\n\t\t\"value\"\n\t\t// LineComment\n\t\t/*\n\t\tBlockComment\n\t\t*/\n\t\t,\n\n\t// LineComment\n\t/*\n\tBlockComment\n\t*/\n}\n\n// LineComment\n/*\nBlockComment\n*/\n"),
    ("\n\t\t//line1\n\t\t{//line2\n\t\t\"name\"//line3\n\t\t://line4\n\t\t\"value\"//line5\n\t\t}//line6\n\t\t", "//line1\n{ //line2\n\t\"name\" //line3\n\t\t: //line4\n\t\t\"value\", //line5\n} //line6\n"),
    ("/**//**/{/**//**/\"name\"/**//**/:/**//**/null/**//**/,}/**//**/", "/**/ /**/ { /**/ /**/ \"name\" /**/ /**/ : /**/ /**/ null /**/ /**/ } /**/ /**/\n"),
    ("/**//**/{/**//**/\"name\"/**//**/:/**//**/null/**//**/,/**//**/}/**//**/", "/**/ /**/ { /**/ /**/ \"name\" /**/ /**/ : /**/ /**/ null /**/ /**/ , /**/ /**/ } /**/ /**/\n"),
    ("/**//**/[/**//**/null/**//**/,]/**//**/", "/**/ /**/ [ /**/ /**/ null /**/ /**/ ] /**/ /**/\n"),
    ("/**//**/[/**//**/null/**//**/,/**//**/]/**//**/", "/**/ /**/ [ /**/ /**/ null /**/ /**/ , /**/ /**/ ] /**/ /**/\n"),
    ("{\n\t\t\t\t\"name\": \"value\",\n\t\t\t\t\"name______\": \"value\",\n\t\t\t\t\"name_\": \"value\",\n\t\t\t\t\"name___\": \"value\"\n\t\t\t}", "{\n\t\"name\":       \"value\",\n\t\"name______\": \"value\",\n\t\"name_\":      \"value\",\n\t\"name___\":    \"value\"\n}\n"),
    ("{\n\t\t\"name\": \"value\",\n\t\t\"name______\": \"value\",\n\t\t// comment\n\t\t\"name_\": \"value\",\n\t\t\"name___\": \"value\"\n\t\t}", "{\n\t\"name\":       \"value\",\n\t\"name______\": \"value\",\n\t// comment\n\t\"name_\":   \"value\",\n\t\"name___\": \"value\",\n}\n"),
    ("{\n\t\"name\": \"value\",\n\t\"name______\": \"value\",\n\n\n\t\"name_\": \"value\",\n\t\"name___\": \"value\"\n\t}", "{\n\t\"name\":       \"value\",\n\t\"name______\": \"value\",\n\n\t\"name_\":   \"value\",\n\t\"name___\": \"value\"\n}\n"),
    ("{\n\t\t\t/**/ \"name\": \"value\",\n\t\t\t/**/ \"name______\": \"value\",/**/\n\t\t\t\"name_\"/**/: \"value\"/**/,\n\t\t\t\"name___\":/**/ \"value\"\n\t\t}", "{\n\t/**/ \"name\":         \"value\",\n\t/**/ \"name______\":   \"value\", /**/\n\t\"name_\" /**/ :  \"value\" /**/ ,\n\t\"name___\": /**/ \"value\",\n}\n"),
    ("{\"foo\": \"bar\", \n\t// Comment1\n\t\"fizz\":\"buzz\"\n\t// Comment2\n,}", "{\n\t\"foo\": \"bar\",\n\t// Comment1\n\t\"fizz\": \"buzz\"\n\t\t// Comment2\n\t\t,\n}\n"),
    ("\n\n\t//ACls\n\n// ACLs\n{\n\n\n\t\n\t\t\t\t\t// foo\n\t\t\t\t\t// foo\n\n\n\t\t\t\t\t\"k\"\n\n\n\t\t\t\t\t// bar\n\t\t\t\t\t// bar\n\n\n\t\t\t\t\t:\n\n\n\n\t\t\t\t\t// baz\n\t\t\t\t\t// baz\n\n\n\n\n\n\n\t\n\t\t\t\t\t\t\t\t[\t\t\t\t\t\t\t\t\t\"v\",\t\t\t\t\t\t\t\t\t]\n\n\t\t\t\t\t\t\t\t// gaz\n\t\t\t\t\t\t\t\t// gaz\n\n\t\t     // ,\n\n\t\t\t  // maz\n\n\n\n\n}\n\t", "//ACls\n\n// ACLs\n{\n\t// foo\n\t// foo\n\n\t\"k\"\n\t\t// bar\n\t\t// bar\n\t\t:\n\t\t// baz\n\t\t// baz\n\t\t[\"v\"],\n\n\t// gaz\n\t// gaz\n\n\t// ,\n\n\t// maz\n}\n"),
    ("\t\t\t   {\n\t\t\"a\" :     {\t\n\t\t\t\"b\" : [\n  \n\t\t\t  ],\n\t\t},\n  \n  \n  \n  }   ", "{\n\t\"a\": {\n\t\t\"b\": [],\n\t},\n}\n"),
    ("{\"a\":{\"b\":[],\"c\":[\n\n\n\n\n\n\t],},}", "{\"a\": {\"b\": [], \"c\": []}}\n"),
    ("\n\t[\n\t\t[\n\t\t\t\"a\",\n\t\t]\n\t\t,\n\t\t[\n\t\t\t\"a\",\n\t\t]\n\t\t,\n\t\t[\n\t\t\t\"a\",\n\t\t]\n\n\t]\n\t\n\t", "[\n\t[\n\t\t\"a\",\n\t],\n\t[\n\t\t\"a\",\n\t],\n\t[\n\t\t\"a\",\n\t],\n]\n"),
    ("\n\t{//fizzbuzz\n\t\"key\"\n\t\t\n\t\t:\"value\"\n\t\t\n\t\t,//wizzwuzzz \n\t\t\n\t// standalone comment\n\t\n\t\t// key comment\n\t\t\"key\":\"value\"}\n\t\n\t", "{ //fizzbuzz\n\t\"key\": \"value\", //wizzwuzzz\n\n\t// standalone comment\n\n\t// key comment\n\t\"key\": \"value\",\n}\n"),
];

/// Edge cases of the parser, formatted by hujson: `(input, formatted)`.
const EDGE_CASES: &[(&str, &str)] = &[
    ("[ // c\r{\"a\":1}\n]", "[ // c {\"a\":1}\n]\n"),
    ("{}\n// trailing\n", "{}\n// trailing\n"),
    ("{}/**/", "{} /**/\n"),
    ("\"a\u{7f}b\"", "\"a\u{7f}b\"\n"),
    ("\"a\u{2028}b\"", "\"a\u{2028}b\"\n"),
    ("[1,]", "[1]\n"),
    ("1E+2", "1E+2\n"),
    ("-0", "-0\n"),
    ("\"\\ud800\"", "\"\u{fffd}\"\n"),
    (
        "{\"a\"/*c*/:/*d*/1/*e*/,/*f*/}",
        "{\"a\" /*c*/ : /*d*/ 1 /*e*/ , /*f*/ }\n",
    ),
    ("{\"a\":1}\r\n", "{\"a\": 1}\n"),
    ("\r\n{}\r\n", "{}\n"),
    ("[1e5,-0.5e-3,0]", "[1e5, -0.5e-3, 0]\n"),
    ("//\n//\r\n{}", "//\n//\n{}\n"),
    (
        "{\"a\":1//x\r\n,\"b\":2}",
        "{\"a\": 1 //x\n\t\t, \"b\": 2}\n",
    ),
    ("[\"\\/\"]", "[\"/\"]\n"),
    ("{\"a\":1,\"a\":2}", "{\"a\": 1, \"a\": 2}\n"),
    ("[/* \n */ 1 // x\n,\n]", "[ /*\n\t */ 1 // x\n\t\t,\n]\n"),
];

/// The comments of `text`, each without its whitespace (the formatter re-indents them and
/// turns CRs into spaces or line feeds).
fn comments(text: &str) -> Vec<String> {
    hujson::comments(text)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            text[s.start..s.end]
                .chars()
                .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n'))
                .collect()
        })
        .collect()
}

/// Formats `input`, checks that a second run changes nothing, that the meaning is the same
/// and that every comment is kept; returns the output.
fn fmt(input: &str) -> String {
    let out = format(input).unwrap_or_else(|e| panic!("{input:?}: {e:?}"));
    assert_eq!(format(&out).unwrap(), out, "not idempotent for {input:?}");
    let (a, _) = hujson::parse(input).unwrap();
    let (b, _) = hujson::parse(&out).unwrap();
    assert!(a.same_value(&b), "meaning changed for {input:?}");
    assert_eq!(comments(input), comments(&out), "comments for {input:?}");
    out
}

#[test]
fn hujson_vectors_are_formatted_byte_for_byte() {
    for &(input, want) in HUJSON_VECTORS {
        assert_eq!(format(input).as_deref(), Ok(want), "{input:?}");
    }
}

#[test]
fn edge_cases_are_formatted_byte_for_byte() {
    for &(input, want) in EDGE_CASES {
        assert_eq!(format(input).as_deref(), Ok(want), "{input:?}");
    }
}

#[test]
fn hujson_vectors_keep_meaning_and_comments_and_are_idempotent() {
    for &(input, _) in HUJSON_VECTORS.iter().chain(EDGE_CASES) {
        fmt(input);
    }
}

#[test]
fn regression_comment_ended_by_lone_cr_stays_a_comment() {
    // For Tailscale the list is empty: the grant is inside the `//` comment, which only a
    // line feed ends. The formatter turns the CR into a space and keeps it a comment.
    let input = "{\"grants\": [ // c\r{\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"*\"]}\n]}";
    let out = fmt(input);
    assert_eq!(
        out,
        "{\"grants\": [ // c {\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"*\"]}\n]}\n"
    );
    let (node, _) = hujson::parse(&out).unwrap();
    assert_eq!(node.to_json(), serde_json::json!({"grants": []}));
}

#[test]
fn regression_strings_with_escapes_are_rewritten_canonically_without_changing_meaning() {
    assert_eq!(
        fmt("[\"\\u0041\\/\\u00e9\\ud83d\\ude02\\u001f\"]"),
        "[\"A/\u{e9}\u{1f602}\\u001f\"]\n"
    );
    // A lone surrogate decodes to U+FFFD for Tailscale, and is written as that character.
    assert_eq!(fmt("[\"\\ud800\"]"), "[\"\u{fffd}\"]\n");
}

#[test]
fn a_format_that_changes_the_meaning_is_refused() {
    let (before, _) = hujson::parse("{\"grants\": []}").unwrap();
    let e = check_meaning("{}", &before, "{\"grants\": [{}]}").unwrap_err();
    assert_eq!(e.code, codes::FMT_MEANING_CHANGED);
    let e = check_meaning("{}", &before, "{\"grants\": [] // no newline").unwrap_err();
    assert_eq!(e.code, codes::FMT_MEANING_CHANGED);
    assert!(check_meaning("{}", &before, "{\"grants\": [],}\n").is_ok());
}

#[test]
fn standard_json_stays_standard() {
    let out = fmt("{\"a\": [1,\n2], \"b\": {}}");
    assert_eq!(out, "{\"a\": [\n\t1,\n\t2\n], \"b\": {}}\n");
}

#[test]
fn syntax_errors_match_the_parser() {
    for text in ["{", "{\"a\": 1,,}", "[1 2]", "{}\n// no newline", "\u{c}{}"] {
        assert_eq!(
            format(text).unwrap_err(),
            hujson::parse(text).unwrap_err(),
            "{text:?}"
        );
    }
}

#[test]
fn nesting_as_deep_as_tailscale_accepts_is_formatted() {
    let depth = hujson::MAX_DEPTH;
    let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let out = format(&text).unwrap();
    // Wider than 80 bytes: the outer levels are expanded until what is left fits on one
    // line (hujson writes the same 741 lines).
    assert_eq!(out.lines().count(), 741);
    assert!(out.starts_with("[[[[[[[[[[[[[[[[[\n\t[[[[[[[[[[[[[[[[[[[[[[[[[[[\n"));
    assert!(format(&out).unwrap() == out, "not idempotent");
    let too_deep = format!("[{text}]");
    assert_eq!(format(&too_deep).unwrap_err().code, codes::NESTING_TOO_DEEP);
}

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
        1 => Just(" // lone CR\r\"not\": [\"a key\"]\n".to_string()),
        1 => Just("/* a\r\n\t * b\n */".to_string()),
        1 => Just("\t/*\n\n   c\n\t*/\n".to_string()),
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
    #![proptest_config(ProptestConfig::with_cases(256))]

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
        text.push('\n');
        fmt(&text);
    }
}
