//! Under Tailscale's rules, a finding about a form only Headscale reads says so in its help,
//! and names `--dialect headscale`: a file written for Headscale is then not taken for a
//! broken Tailscale policy.
//!
//! The forms (juanfont/headscale, `hscontrol/policy/v2/types.go`):
//! - a bare `name@` user token, Headscale's spelling of a user without an e-mail address
//!   (`isUser`: any alias with `@`; a user is matched by name when it has no e-mail);
//! - a key starting with `#` in an ACL entry, which Headscale drops (`ACL.UnmarshalJSON`).

use crate::codes;
use crate::diagnostic::{Diagnostic, Findings};

/// Adds the hint to every error whose place is a Headscale-only form in `text`.
pub(crate) fn suggest_headscale(text: &str, findings: &mut Findings) {
    for d in &mut findings.errors {
        let token = text.get(d.span.start..d.span.end).unwrap_or_default();
        if let Some(hint) = headscale_form(d, token) {
            d.help = Some(match d.help.take() {
                Some(help) => format!("{help}; {hint}"),
                None => hint,
            });
        }
    }
}

/// What Headscale would make of `token` (a finding's source text), when only it reads it.
fn headscale_form(d: &Diagnostic, token: &str) -> Option<String> {
    let inner = token.strip_prefix('"')?.strip_suffix('"')?.trim();
    if d.code == codes::UNKNOWN_FIELD && inner.starts_with('#') {
        return Some(
            "Headscale drops `#` keys in an ACL entry: if this policy is for Headscale, check it with `--dialect headscale`".into(),
        );
    }
    let name = inner.strip_suffix('@')?;
    let bare_user = !name.is_empty() && !name.contains(['@', ':', ' ']);
    bare_user.then(|| {
        format!("`{inner}` is how Headscale names a user without an e-mail address: if this policy is for Headscale, check it with `--dialect headscale`")
    })
}

#[cfg(test)]
mod tests {
    use crate::model::tailnet::Tailnet;
    use crate::model::Dialect;
    use crate::validate::{check_text, Options};

    const TAILNET: &str = r#"{"users": [{"id": 1, "name": "a", "email": "a@example.com"}],
        "nodes": {"n": {"ipv4": "100.64.0.1", "ipv6": "fd7a:115c:a1e0::1", "user": "a"}}}"#;

    fn helps(text: &str, dialect: Dialect) -> Vec<String> {
        let tailnet = Tailnet::from_text(TAILNET).unwrap();
        let options = Options {
            tailnet: Some(&tailnet),
            dialect,
        };
        check_text(text, &options)
            .findings
            .errors
            .into_iter()
            .map(|d| d.help.unwrap_or_default())
            .collect()
    }

    #[test]
    fn a_bare_user_token_under_tailscale_suggests_the_headscale_dialect() {
        let text = r#"{"grants": [{"src": ["*"], "dst": ["*"], "ip": ["*"]}],
            "tests": [{"src": "carol@", "accept": ["100.64.0.1:22"]}]}"#;
        let tailscale = helps(text, Dialect::Tailscale);
        assert_eq!(tailscale.len(), 1, "{tailscale:?}");
        assert!(
            tailscale[0].contains("`carol@` is how Headscale names a user")
                && tailscale[0].contains("--dialect headscale"),
            "{tailscale:?}"
        );
        // Under Headscale the same finding (if any) does not send the user to Headscale.
        assert!(helps(text, Dialect::Headscale)
            .iter()
            .all(|h| !h.contains("--dialect headscale")));
        // A full e-mail address is not a Headscale-only form.
        let email = text.replace("carol@", "carol@example.com");
        assert!(helps(&email, Dialect::Tailscale)
            .iter()
            .all(|h| !h.contains("--dialect headscale")));
    }

    #[test]
    fn a_hash_key_in_an_acl_under_tailscale_suggests_the_headscale_dialect() {
        let text =
            r##"{"acls": [{"#meta": "x", "action": "accept", "src": ["*"], "dst": ["*:*"]}]}"##;
        let tailscale = helps(text, Dialect::Tailscale);
        assert!(
            tailscale.iter().any(|h| h.contains("--dialect headscale")),
            "{tailscale:?}"
        );
        assert!(helps(text, Dialect::Headscale).is_empty());
        let unknown = text.replace("#meta", "meta");
        assert!(helps(&unknown, Dialect::Tailscale)
            .iter()
            .all(|h| !h.contains("--dialect headscale")));
    }
}
