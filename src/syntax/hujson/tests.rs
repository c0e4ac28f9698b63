//! The parser's verdicts: tailscale/hujson's own vectors (`testdata` in `json_test.go` and the
//! inputs of `testdataFormat` in `format_test.go`) and the edge cases where JSONC parsers
//! differ from it, each with the offset at which `parse.go` stops.

use super::syntax::{self, Kind};
use super::*;
use crate::codes;

/// `(input, None)` when hujson accepts it, `(input, Some(offset))` where it stops.
const HUJSON_VECTORS: &[(&str, Option<usize>)] = &[
    (" null ", None),
    (" null,", Some(5)),
    ("//\u{1f60a} \r\t\n/*\r\t\n*/null//\u{1f60a} \r\t\n/*\r\t\n*/", None),
    ("/?", Some(0)),
    ("null//", Some(4)),
    ("null//\n", None),
    ("\"\\\"\\\\\\u0022\u{1f60a}", Some(15)),
    ("\"\\xff\"", Some(0)),
    ("\"\\\"\\\\\\u0022\u{1f60a}\"", None),
    ("3.14159E+435", None),
    ("+1000", Some(0)),
    ("{", Some(1)),
    ("{,}", Some(1)),
    ("{null:\"v\"", Some(1)),
    ("{\"k\"", Some(4)),
    ("{\"k\";", Some(4)),
    ("{\"k\":}", Some(5)),
    ("{\"k\":\"v\"", Some(8)),
    ("{\"k\":\"v\"]", Some(8)),
    (" { \"k\" : \"v\" } ", None),
    (" { \"k\" : \"v\" , } ", None),
    ("[", Some(1)),
    ("[,]", Some(1)),
    ("[\"s\"", Some(4)),
    ("[\"s\"}", Some(4)),
    (" [ \"s\" ] ", None),
    (" [ \"s\" , ] ", None),
    (" /**/ [ /**/ null /**/ , /**/ false /**/ , /**/ true /**/ , /**/ \"string\" /**/ , /**/ 0 /**/ , /**/ {} /**/ , /**/ [] /**/ ] /**/ ", None),
    (" '", Some(1)),
    (" \u{1f4a9}", Some(1)),
    (" \u{ffff}", Some(1)),
    (" \u{101234}", Some(1)),
    ("null", None),
    (" \r\n\t//comment\n\n\n/**/null \r\t//comment\n\n\n/**/\r\n\t", None),
    ("//comment\r\n//comment\n\r/**\r/*/null", None),
    ("\"\\u000F\\u000a\\/\\ud83d\\ude02\"", None),
    ("{\n\r\t \n\r\t }", None),
    ("{/**/}", None),
    ("{//\r\t\n}", None),
    ("[\n\r\t \n\r\t ]", None),
    ("[/**/]", None),
    ("[//\r\t\n]", None),
    ("{\"name\" \t \t:\"value\" \t \t,\"name\":\"value\"}", None),
    ("{\"name\"/**/:\"value\"/**/,\"name\":\"value\"}", None),
    ("[null \t \t,null]", None),
    ("[null/**/,null]", None),
    ("[0//\n,]", None),
    ("[/*\n*/\n]", None),
    ("[/*\n\n*/\n]", None),
    ("[ /*\n\t\n\t*/\n]", None),
    ("[\n\t\t\t/*\n\n\t\tline1\n  line2\n\n\t\t\t*/\n\n\t\t]", None),
    ("[\n\t\t/*\n\n  \tline1\n  line2\n\n\t\t*/\n\n\t]", None),
    ("[\n/*\n* line1\n* line2\n*/\n\t\t]", None),
    ("[\n/*\n\t* line1\n* line2\n*/\n\t]", None),
    ("//\u{1f60a} \r\t\u{2639}\n/*\u{1f60a} \r\t\u{2639}\n*/null//\u{1f60a} \r\t\n/*\r\t\n*/", None),
    ("\n\t\t\n\t\t   // LineComment   \n\t\t/* \n  BlockComment     \n\t\t\t */\n\n\t{\n\t\t\n\t\t// LineComment   \n\t /* \nBlockComment     \n\t\t  */\n\n\"name\"\n\n\t\t\n// LineComment   \n/* \nBlockComment     \n\t */\n\n:\n\t\t\n    // LineComment   \n/* \n BlockComment     \n\t */\n\n\t\t\t   \"value\"\n\n\t\t\n         \t\t\t   // LineComment   \n\t\t   \t   /* \n\t\t\t                         BlockComment     \n\t\t\t\t\t*/\n\n\t\t\t   ,\n\n\t\t\n\t    \t\t   // LineComment      \n   \t\t\t   /* \n\t\t\t   BlockComment     \n\t\t\t\t\t*/\n\t\t\t   \n\n\t}\n\n\t\t\t\n// LineComment   \n/* \nBlockComment     \n\t */\n\n\n\n\t ", None),
    ("\n\t\t//line1\n\t\t{//line2\n\t\t\"name\"//line3\n\t\t://line4\n\t\t\"value\"//line5\n\t\t}//line6\n\t\t", None),
    ("/**//**/{/**//**/\"name\"/**//**/:/**//**/null/**//**/,}/**//**/", None),
    ("/**//**/{/**//**/\"name\"/**//**/:/**//**/null/**//**/,/**//**/}/**//**/", None),
    ("/**//**/[/**//**/null/**//**/,]/**//**/", None),
    ("/**//**/[/**//**/null/**//**/,/**//**/]/**//**/", None),
    ("{\n\t\t\t\t\"name\": \"value\",\n\t\t\t\t\"name______\": \"value\",\n\t\t\t\t\"name_\": \"value\",\n\t\t\t\t\"name___\": \"value\"\n\t\t\t}", None),
    ("{\n\t\t\"name\": \"value\",\n\t\t\"name______\": \"value\",\n\t\t// comment\n\t\t\"name_\": \"value\",\n\t\t\"name___\": \"value\"\n\t\t}", None),
    ("{\n\t\"name\": \"value\",\n\t\"name______\": \"value\",\n\n\n\t\"name_\": \"value\",\n\t\"name___\": \"value\"\n\t}", None),
    ("{\n\t\t\t/**/ \"name\": \"value\",\n\t\t\t/**/ \"name______\": \"value\",/**/\n\t\t\t\"name_\"/**/: \"value\"/**/,\n\t\t\t\"name___\":/**/ \"value\"\n\t\t}", None),
    ("{\"foo\": \"bar\", \n\t// Comment1\n\t\"fizz\":\"buzz\"\n\t// Comment2\n,}", None),
    ("\n\n\t//ACls\n\n// ACLs\n{\n\n\n\t\n\t\t\t\t\t// foo\n\t\t\t\t\t// foo\n\n\n\t\t\t\t\t\"k\"\n\n\n\t\t\t\t\t// bar\n\t\t\t\t\t// bar\n\n\n\t\t\t\t\t:\n\n\n\n\t\t\t\t\t// baz\n\t\t\t\t\t// baz\n\n\n\n\n\n\n\t\n\t\t\t\t\t\t\t\t[\t\t\t\t\t\t\t\t\t\"v\",\t\t\t\t\t\t\t\t\t]\n\n\t\t\t\t\t\t\t\t// gaz\n\t\t\t\t\t\t\t\t// gaz\n\n\t\t     // ,\n\n\t\t\t  // maz\n\n\n\n\n}\n\t", None),
    ("\t\t\t   {\n\t\t\"a\" :     {\t\n\t\t\t\"b\" : [\n  \n\t\t\t  ],\n\t\t},\n  \n  \n  \n  }   ", None),
    ("{\"a\":{\"b\":[],\"c\":[\n\n\n\n\n\n\t],},}", None),
    ("\n\t[\n\t\t[\n\t\t\t\"a\",\n\t\t]\n\t\t,\n\t\t[\n\t\t\t\"a\",\n\t\t]\n\t\t,\n\t\t[\n\t\t\t\"a\",\n\t\t]\n\n\t]\n\t\n\t", None),
    ("\n\t{//fizzbuzz\n\t\"key\"\n\t\t\n\t\t:\"value\"\n\t\t\n\t\t,//wizzwuzzz \n\t\t\n\t// standalone comment\n\t\n\t\t// key comment\n\t\t\"key\":\"value\"}\n\t\n\t", None),
];

/// Edge cases, with hujson's verdicts.
const EDGE_CASES: &[(&str, Option<usize>)] = &[
    ("[ // c\r{\"a\":1}\n]", None),
    ("// c\r{}", Some(0)),
    ("{}\n// trailing", Some(3)),
    ("{}\n// trailing\n", None),
    ("{} /* x", Some(3)),
    ("{}/**/", None),
    ("\u{c}{}", Some(0)),
    ("{\u{b}}", Some(1)),
    ("\u{a0}{}", Some(0)),
    ("{}\u{2028}", Some(2)),
    ("\u{feff}{}", Some(0)),
    ("{}\u{0}", Some(2)),
    ("\"a\tb\"", Some(0)),
    ("\"a\u{0}b\"", Some(0)),
    ("\"a\u{1f}b\"", Some(0)),
    ("\"a\u{7f}b\"", None),
    ("\"a\u{2028}b\"", None),
    ("\"a\nb\"", Some(0)),
    ("[1,]", None),
    ("[,1]", Some(1)),
    ("{\"a\":1,,}", Some(7)),
    ("[1,,]", Some(3)),
    ("01", Some(0)),
    ("-", Some(0)),
    ("1.", Some(0)),
    (".5", Some(0)),
    ("1e", Some(0)),
    ("1E+2", None),
    ("-0", None),
    ("tRue", Some(0)),
    ("True", Some(0)),
    ("nul", Some(0)),
    ("[1 2]", Some(3)),
    ("{\"a\" : 1 \"b\":2}", Some(9)),
    ("{{}:1}", Some(1)),
    ("{[1,2:3}", Some(5)),
    ("[}", Some(1)),
    ("{]", Some(1)),
    ("\"\\u12\"", Some(0)),
    ("\"\\x\"", Some(0)),
    ("\"\\ud800\"", None),
    ("\"\\U0041\"", Some(0)),
    ("[1/**/2]", Some(6)),
    ("{\"a\"/*c*/:/*d*/1/*e*/,/*f*/}", None),
    ("{\"a\":1}\r\n", None),
    ("\r\n{}\r\n", None),
    ("[1e5,-0.5e-3,0]", None),
    ("//\n//\r\n{}", None),
    ("/**/", Some(4)),
    ("", Some(0)),
    ("  ", Some(2)),
    ("// only", Some(0)),
    ("// only\n", Some(8)),
    ("{\"a\":1//x\r,\"b\":2}\n", Some(18)),
    ("{\"a\":1//x\r\n,\"b\":2}", None),
    ("[1]]", Some(3)),
    ("[[1]", Some(4)),
    ("{\"a\":}", Some(5)),
    ("{\"a\" 1}", Some(5)),
    ("{'a':1}", Some(1)),
    ("{a:1}", Some(1)),
    ("[0x10]", Some(1)),
    ("[NaN]", Some(1)),
    ("[Infinity]", Some(1)),
    ("[+1]", Some(1)),
    ("[1.5e+]", Some(1)),
    ("[\"\\/\"]", None),
    ("{\"a\":1,\"a\":2}", None),
    ("[/* \n */ 1 // x\n,\n]", None),
];

fn verdict(text: &str) -> Option<usize> {
    syntax::parse(text).err().map(|e| e.offset)
}

#[test]
fn hujson_vectors_get_hujson_verdicts() {
    for &(text, want) in HUJSON_VECTORS {
        assert_eq!(verdict(text), want, "{text:?}");
    }
}

#[test]
fn edge_cases_get_hujson_verdicts() {
    for &(text, want) in EDGE_CASES {
        assert_eq!(verdict(text), want, "{text:?}");
    }
}

#[test]
fn invalid_utf8_in_a_comment_or_string_is_rejected() {
    // hujson: "invalid UTF-8 in comment" and an invalid literal; the file is not UTF-8 text.
    for bytes in [&b"//\xde\xad\xbe\xef\nnull"[..], b" \xff", b"\"\xff\""] {
        assert_eq!(parse_bytes(bytes).unwrap_err().code, codes::NOT_UTF8);
    }
}

#[test]
fn syntax_errors_point_where_hujson_stops() {
    for &(text, want) in HUJSON_VECTORS.iter().chain(EDGE_CASES) {
        let Some(offset) = want else { continue };
        let d = parse(text).unwrap_err();
        assert_eq!(d.span.start, offset, "{text:?}: {}", d.message);
    }
}

#[test]
fn the_tree_keeps_every_byte() {
    for &(text, want) in HUJSON_VECTORS.iter().chain(EDGE_CASES) {
        if want.is_none() {
            let tree = syntax::parse(text).unwrap();
            assert_eq!(tree.to_owned_text(text).pack(), text);
        }
    }
}

#[test]
fn regression_line_comment_ended_by_lone_cr_hides_the_grant() {
    // Tailscale ends `//` comments only at LF: the grant after the CR is part of the comment.
    let text = "{\"grants\": [ // c\r{\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"*\"]}\n]}";
    let (node, _) = parse(text).unwrap();
    assert_eq!(node.to_json(), serde_json::json!({"grants": []}));
}

#[test]
fn regression_line_comment_at_end_of_file_without_newline_is_rejected() {
    let d = parse("{}\n// the end").unwrap_err();
    assert_eq!((d.code, d.span.start), (codes::HUJSON_SYNTAX, 3));
    assert!(
        d.help.as_deref().unwrap_or("").contains("line feed"),
        "{d:?}"
    );
}

#[test]
fn regression_form_feed_vertical_tab_nbsp_and_line_separator_are_not_whitespace() {
    for text in [
        "\u{c}{}",
        "{\u{b}}",
        "{\"a\":\u{a0}1}",
        "{}\u{2028}",
        "[1,\u{2029}2]",
        "[\u{feff}1]",
    ] {
        let d = parse(text).unwrap_err();
        assert_eq!(d.code, codes::HUJSON_SYNTAX, "{text:?}");
        assert!(
            d.message.contains("invalid character U+"),
            "{text:?}: {}",
            d.message
        );
    }
}

#[test]
fn regression_raw_control_characters_in_strings_are_rejected() {
    for c in (0u8..0x20).map(char::from) {
        let text = format!("{{\"a\": \"x{c}y\"}}");
        let d = parse(&text).unwrap_err();
        assert_eq!((d.code, d.span.start), (codes::HUJSON_SYNTAX, 6), "{c:?}");
    }
    // DEL and the Unicode separators are allowed inside strings.
    let (node, _) = parse("[\"\u{7f}\u{2028}\"]").unwrap();
    assert_eq!(node.to_json(), serde_json::json!(["\u{7f}\u{2028}"]));
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn nesting_as_deep_as_tailscale_accepts_is_accepted() {
    let (node, _) = parse(&nested(MAX_DEPTH)).unwrap();
    let mut depth = 1;
    let mut at = &node;
    while let Value::Array(items) = &at.value {
        let Some(first) = items.first() else { break };
        at = first;
        depth += 1;
    }
    assert_eq!(depth, MAX_DEPTH);
    let mut json = node.to_json();
    for _ in 1..MAX_DEPTH {
        let serde_json::Value::Array(mut items) = json else {
            break;
        };
        json = items.pop().unwrap_or_default();
    }
    assert_eq!(json, serde_json::json!([]));
    // The policy checker walks the same tree.
    let text = format!("{{\"attrConfig\": {}}}", nested(MAX_DEPTH - 1));
    let checked = crate::validate::check_text(&text, &Default::default());
    assert!(checked
        .findings
        .all()
        .all(|d| d.code != codes::NESTING_TOO_DEEP));
}

#[test]
fn regression_deeper_nesting_is_an_error_not_a_stack_overflow() {
    let d = parse(&nested(MAX_DEPTH + 1)).unwrap_err();
    assert_eq!((d.code, d.span.start), (codes::NESTING_TOO_DEEP, MAX_DEPTH));
    let d = parse(&"[".repeat(100_000)).unwrap_err();
    assert_eq!(d.code, codes::NESTING_TOO_DEEP);
    // Comments cannot hide brackets from the limit (the old pre-scan skipped `//...<CR>`).
    let hidden = format!("[ // c\r\n{}", "[".repeat(100_000));
    assert_eq!(parse(&hidden).unwrap_err().code, codes::NESTING_TOO_DEEP);
    let objects = format!(
        "{}1{}",
        "{\"a\":".repeat(MAX_DEPTH + 1),
        "}".repeat(MAX_DEPTH + 1)
    );
    assert_eq!(parse(&objects).unwrap_err().code, codes::NESTING_TOO_DEEP);
}

#[test]
fn a_trailing_comma_is_recorded_and_its_extra_kept() {
    let tree = syntax::parse("[1 /*a*/, /*b*/]").unwrap();
    let Kind::Composite(c) = &tree.kind else {
        panic!("array")
    };
    assert!(c.trailing_comma);
    assert_eq!(c.items[0].after, 2..8);
    assert_eq!(c.after, 9..15);
    let tree = syntax::parse("[1 /*a*/ ]").unwrap();
    let Kind::Composite(c) = &tree.kind else {
        panic!("array")
    };
    assert!(!c.trailing_comma);
    assert_eq!(c.items[0].after, 2..2);
    assert_eq!(c.after, 2..9);
}

#[test]
fn errors_name_the_place_and_the_fix() {
    let d = parse("{\n  \"a\": 1\n  \"b\": 2\n}").unwrap_err();
    assert!(
        d.message
            .contains("invalid character `\"` after object value"),
        "{}",
        d.message
    );
    let d = parse("{'a': 1}").unwrap_err();
    assert!(
        d.help.as_deref().unwrap_or("").contains("double quotes"),
        "{d:?}"
    );
    let d = parse("{\"a\": 0x10}").unwrap_err();
    assert!(d.message.contains("invalid literal 0x10"), "{}", d.message);
    let d = parse("{\"a\": \"x\ty\"}").unwrap_err();
    assert!(d.help.as_deref().unwrap_or("").contains("escapes"), "{d:?}");
}

#[test]
fn comments_and_trailing_commas_are_accepted() {
    let (node, dups) = parse("// c\n{\"a\": [1, 2,], /* x */ \"b\": \"s\",}").unwrap();
    assert!(dups.is_empty());
    assert_eq!(node.to_json(), serde_json::json!({"a": [1, 2], "b": "s"}));
}

#[test]
fn json5_extensions_are_rejected() {
    for text in [
        "{'a': 1}",
        "{a: 1}",
        "{\"a\": 0x10}",
        "{\"a\": NaN}",
        "{\"a\": +1}",
        "{\"a\": .5}",
    ] {
        assert_eq!(
            parse(text).unwrap_err().code,
            codes::HUJSON_SYNTAX,
            "{text}"
        );
    }
}

#[test]
fn spans_point_at_keys_and_values() {
    let text = "{\"acls\": [\"x\"]}";
    let (node, _) = parse(text).unwrap();
    let Value::Object(m) = &node.value else {
        panic!("object")
    };
    assert_eq!(&text[m[0].key.span.start..m[0].key.span.end], "\"acls\"");
    assert_eq!(&text[m[0].value.span.start..m[0].value.span.end], "[\"x\"]");
}

#[test]
fn duplicate_keys_are_reported_at_the_second() {
    let text = "{\"a\": 1, \"a\": 2}";
    let (_, dups) = parse(text).unwrap();
    assert_eq!(dups.len(), 1);
    assert_eq!(dups[0].span.start, 9);
    // Keys compare by their decoded value.
    let (_, dups) = parse("{\"a\": 1, \"\\u0061\": 2}").unwrap();
    assert_eq!(dups.len(), 1);
}

#[test]
fn duplicate_keys_are_found_alike_in_small_and_large_objects() {
    // Objects of up to `SMALL_OBJECT` members and larger ones look keys up differently.
    for size in [2, super::SMALL_OBJECT, super::SMALL_OBJECT + 1, 40] {
        let mut keys: Vec<String> = (0..size).map(|i| format!("\"k{i}\"")).collect();
        keys.push("\"k0\"".to_string());
        keys.push(format!("\"\\u006b{}\"", size - 1));
        keys.push("\"k0\"".to_string());
        let text = format!(
            "{{{}}}",
            keys.iter()
                .map(|k| format!("{k}: 1"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let (node, dups) = parse(&text).unwrap();
        let Value::Object(members) = &node.value else {
            panic!("not an object")
        };
        assert_eq!(members.len(), size, "{text}");
        let first = |k: &str| text.find(k).unwrap();
        let found: Vec<(usize, usize)> = dups
            .iter()
            .map(|d| (d.span.start, d.related[0].span.start))
            .collect();
        let last_key = format!("\"k{}\"", size - 1);
        let escaped = format!("\"\\u006b{}\"", size - 1);
        let k0_again: Vec<usize> = text
            .match_indices("\"k0\"")
            .skip(1)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            found,
            [
                (k0_again[0], first("\"k0\"")),
                (first(&escaped), first(&last_key)),
                (k0_again[1], first("\"k0\"")),
            ],
            "{text}"
        );
    }
}

#[test]
fn empty_bom_and_bad_utf8_are_errors() {
    assert_eq!(parse("").unwrap_err().code, codes::HUJSON_SYNTAX);
    assert_eq!(
        parse("  // only a comment\n").unwrap_err().code,
        codes::HUJSON_SYNTAX
    );
    assert_eq!(
        parse_bytes(b"\xEF\xBB\xBF{}").unwrap_err().code,
        codes::BYTE_ORDER_MARK
    );
    assert_eq!(
        parse_bytes(b"{\"a\": \"\xff\"}").unwrap_err().code,
        codes::NOT_UTF8
    );
}

/// The value the lossless tree holds, built from it alone (as the tree of values was built
/// before the parser fed both builders), to hold the two builders to one answer.
fn value_of_lossless(text: &str, syn: &syntax::Syn<std::ops::Range<usize>>) -> serde_json::Value {
    match &syn.kind {
        syntax::Kind::Literal(r) => {
            let raw = &text[r.clone()];
            if raw.starts_with('"') {
                // Unquoted as Go does (a lone surrogate becomes U+FFFD), which serde_json
                // refuses.
                return serde_json::Value::String(super::literal::unquote(raw));
            }
            // A number serde_json cannot hold stays as written, as `Node::to_json` keeps it.
            serde_json::from_str(raw).unwrap_or_else(|_| serde_json::Value::String(raw.to_string()))
        }
        syntax::Kind::Composite(c) if !c.is_object => {
            c.items.iter().map(|i| value_of_lossless(text, i)).collect()
        }
        syntax::Kind::Composite(c) => {
            let mut map = serde_json::Map::new();
            for pair in c.items.chunks(2) {
                let serde_json::Value::String(key) = value_of_lossless(text, &pair[0]) else {
                    panic!("a name that is not a string")
                };
                // The first of duplicate keys wins, as in the tree of values.
                map.entry(key)
                    .or_insert_with(|| value_of_lossless(text, &pair[1]));
            }
            serde_json::Value::Object(map)
        }
    }
}

#[test]
fn the_tree_of_values_and_the_lossless_tree_agree() {
    let texts = HUJSON_VECTORS
        .iter()
        .chain(EDGE_CASES)
        .map(|&(text, _)| text)
        .chain([
            "{\"a\": [1, {\"b\": null}], /* c */ \"d\": \"\\u00e9\", \"a\": 2,}",
            "[[], {}, [[[true]]], -0.5e3, \"x\" // y\n]",
        ]);
    for text in texts {
        let lossless = syntax::parse(text);
        let values = parse(text);
        assert_eq!(lossless.is_ok(), values.is_ok(), "{text:?}");
        if let (Ok(tree), Ok((node, _))) = (lossless, values) {
            assert_eq!(node.to_json(), value_of_lossless(text, &tree), "{text:?}");
            assert_eq!(
                (node.span.start, node.span.end),
                (tree.start, tree.end),
                "{text:?}"
            );
        }
    }
}

/// Nested arrays and objects of many sizes and depths, for the builder of values, which keeps
/// every open list on shared stacks and moves it off as it closes. (Duplicate keys have their
/// own tests above and below; a map's keys are unique here.)
fn nested_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        (-1000i64..1000).prop_map(serde_json::Value::from),
        "[a-c]{0,3}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(6, 200, 12, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..12).prop_map(serde_json::Value::Array),
            prop::collection::vec(("[a-c]{1,2}", inner), 0..12)
                .prop_map(|members| serde_json::Value::Object(members.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    #[test]
    fn the_two_builders_agree_on_random_nested_values(value in nested_value(), pretty in proptest::prelude::any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&value).unwrap()
        } else {
            serde_json::to_string(&value).unwrap()
        };
        let (node, dups) = parse(&text).unwrap();
        let tree = syntax::parse(&text).unwrap();
        proptest::prop_assert!(dups.is_empty());
        proptest::prop_assert_eq!(node.to_json(), value_of_lossless(&text, &tree));
        proptest::prop_assert_eq!(node.to_json(), value);
    }
}

#[test]
fn what_lies_inside_a_duplicate_members_value_is_not_reported() {
    // The second "a" is reported and its value dropped, with the duplicate "b" inside it.
    let text = r#"{"a": 1, "a": {"b": 1, "b": 2}, "c": {"d": 1, "d": 2}}"#;
    let (node, dups) = parse(text).unwrap();
    let at: Vec<usize> = dups.iter().map(|d| d.span.start).collect();
    assert_eq!(at, [9, text.rfind("\"d\"").unwrap()]);
    assert_eq!(node.to_json(), serde_json::json!({"a": 1, "c": {"d": 1}}));
}
