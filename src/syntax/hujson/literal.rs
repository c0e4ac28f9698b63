//! The value of a JSON string literal, decoded as Go's `encoding/json` decodes it (the
//! decoder Tailscale runs after `hujson.Standardize`): a `\u` escape of a UTF-16 surrogate
//! that is not half of a valid pair decodes to U+FFFD (`unquoteBytes` in Go's
//! `encoding/json/decode.go`), where serde_json would reject the file.

/// Decodes a quoted string that [`super::syntax`] has validated (quotes included).
pub(crate) fn unquote(lit: &str) -> String {
    let body = lit
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(lit);
    if !body.contains('\\') {
        return body.to_string();
    }
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let mut chars = rest.chars();
        chars.next();
        let Some(e) = chars.next() else { break };
        rest = chars.as_str();
        match e {
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let Some(unit) = hex4(rest) else { break };
                rest = rest.get(4..).unwrap_or("");
                out.push(decode_unit(unit, &mut rest));
            }
            // `"`, `\` and `/` stand for themselves.
            other => out.push(other),
        }
    }
    out.push_str(rest);
    out
}

/// The character of the UTF-16 unit `unit`, taking its low half from `rest` when `unit` is
/// a high surrogate followed by `\u` and a low surrogate.
fn decode_unit(unit: u16, rest: &mut &str) -> char {
    if (0xD800..0xDC00).contains(&unit) {
        let low = rest.strip_prefix("\\u").and_then(hex4);
        if let Some(low @ 0xDC00..=0xDFFF) = low {
            *rest = rest.get(6..).unwrap_or("");
            let c = 0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
            return char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER);
        }
    }
    char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

fn hex4(s: &str) -> Option<u16> {
    u16::from_str_radix(s.get(..4)?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::unquote;

    #[test]
    fn escapes_decode_as_go_decodes_them() {
        assert_eq!(unquote(r#""plain""#), "plain");
        assert_eq!(unquote(r#""\"\\\/\b\f\n\r\t""#), "\"\\/\u{8}\u{c}\n\r\t");
        assert_eq!(unquote(r#""\u0041\u00e9\u2028""#), "A\u{e9}\u{2028}");
        assert_eq!(unquote(r#""\ud83d\ude02""#), "\u{1F602}");
    }

    #[test]
    fn lone_surrogates_decode_to_the_replacement_character() {
        assert_eq!(unquote(r#""\ud800""#), "\u{FFFD}");
        assert_eq!(unquote(r#""\udc00x""#), "\u{FFFD}x");
        assert_eq!(unquote(r#""\ud800\u0041""#), "\u{FFFD}A");
        assert_eq!(unquote(r#""\ud800\ud800\udc00""#), "\u{FFFD}\u{10000}");
    }
}
