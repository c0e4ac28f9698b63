//! The documentation of every diagnostic code: what it finds, why it matters, how to fix it.
//!
//! Error codes (`TG0xxx`) are described here; a lint (`TG1xxx`) is documented by the doc
//! comment of its module in `src/validate/lint/`, read from the source at build time, so that one text
//! serves `docs/codes.md`, `tailgrant check --explain` and the SARIF rule descriptions.
//! `docs/codes.md` is [`markdown`]'s output (regenerate it with
//! `cargo run -q -- check --explain all > docs/codes.md`).

use crate::diagnostic::{Severity, CODES};
use crate::validate::lint::RULES;

/// The documentation of one code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeDoc {
    /// The code, e.g. `TG0201`.
    pub code: &'static str,
    /// The lint's short name (`None` for errors).
    pub name: Option<&'static str>,
    /// Error or warning.
    pub severity: Severity,
    /// One line on what it finds.
    pub summary: &'static str,
    /// What it finds, why it matters and how to fix it (Markdown).
    pub details: String,
}

impl CodeDoc {
    /// The summary and the details as plain text (SARIF's full description).
    pub fn full_text(&self) -> String {
        if self.details.is_empty() {
            self.summary.to_string()
        } else {
            format!("{}. {}", capitalized(self.summary), self.details)
        }
    }

    /// The entry as a Markdown section.
    pub fn markdown(&self) -> String {
        let kind = match (self.severity, self.name) {
            (Severity::Warning, Some(name)) => format!("Warning (lint `{name}`)"),
            (Severity::Warning, None) => "Warning".to_string(),
            (Severity::Error, _) => "Error".to_string(),
        };
        let mut s = format!("## {}\n\n{kind}: {}.\n", self.code, self.summary);
        if !self.details.is_empty() {
            s.push('\n');
            s.push_str(&self.details);
            s.push('\n');
        }
        s
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or(String::new(), |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

/// The help URI of a code: its entry in `docs/codes.md`.
pub fn help_uri(code: &str) -> String {
    format!(
        "https://github.com/tailgrant/tailgrant/blob/main/docs/codes.md#{}",
        code.to_ascii_lowercase()
    )
}

/// Every code, errors then lints, each in code order.
pub fn all() -> Vec<CodeDoc> {
    // `CODES` holds the errors and the warnings that are not lints (about suppressions,
    // `TG19xx`).
    let errors = CODES.iter().map(|&(code, summary)| CodeDoc {
        code,
        name: None,
        severity: if code.starts_with("TG1") {
            Severity::Warning
        } else {
            Severity::Error
        },
        summary,
        details: error_details(code).to_string(),
    });
    let lints = RULES.iter().map(|r| CodeDoc {
        code: r.code,
        name: Some(r.name),
        severity: Severity::Warning,
        summary: r.summary,
        details: lint_details(r.code),
    });
    let mut all: Vec<CodeDoc> = errors.chain(lints).collect();
    all.sort_by_key(|d| d.code);
    all
}

/// The documentation of `code` (any case), if it is one.
pub fn lookup(code: &str) -> Option<CodeDoc> {
    all()
        .into_iter()
        .find(|d| d.code.eq_ignore_ascii_case(code))
}

/// `docs/codes.md`: every entry, with a title and an index.
pub fn markdown() -> String {
    let mut s = String::from(
        "# Diagnostic codes\n\n\
         <!-- Generated from the registry (src/codes.rs, src/diagnostic.rs, src/validate/lint/); \
         regenerate with `cargo run -q -- check --explain all > docs/codes.md`. -->\n\n\
         `TG00xx` syntax, `TG01xx` structure, `TG02xx` the network sections, `TG03xx` SSH, \
         `TG04xx` tests, `TG05xx` relay and capability assertions: errors, which Tailscale's \
         control plane rejects (or, for tests and assertions, failures). `TG1xxx` are lints: \
         warnings about policies Tailscale accepts, which fail the run only with \
         `--deny-warnings`. `tailgrant check --explain CODE` prints one entry.\n\n\
         Positions in every output format are 1-based lines and columns; columns count Unicode \
         characters (code points).\n\n",
    );
    for d in all() {
        s.push_str(&d.markdown());
        s.push('\n');
    }
    s.pop();
    s
}

/// The module doc comment of the lint that reports `code`, without its title line.
fn lint_details(code: &str) -> String {
    let source = match code {
        "TG1001" | "TG1002" | "TG1003" | "TG1004" => include_str!("validate/lint/unused.rs"),
        "TG1005" => include_str!("validate/lint/redundant_rule.rs"),
        "TG1006" => include_str!("validate/lint/relay_wildcard_src.rs"),
        "TG1007" => include_str!("validate/lint/relay_without_relay.rs"),
        "TG1011" => include_str!("validate/lint/unknown_tailscale_capability.rs"),
        "TG1009" => include_str!("validate/lint/field_case.rs"),
        "TG1010" => include_str!("validate/lint/check_period_on_accept.rs"),
        _ => "",
    };
    let doc: Vec<&str> = source
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .skip(1)
        .collect();
    doc.join("\n").trim().to_string()
}

/// What an error code means and how to fix it.
fn error_details(code: &str) -> &'static str {
    match code {
        "TG0001" => "The text is not HuJSON (JSON with comments and trailing commas), so Tailscale cannot read the policy at all. The position is where parsing stopped; a missing comma, quote or closing bracket just before it is the usual cause.",
        "TG0002" => "The file starts with a UTF-8 byte-order mark, which Tailscale's parser rejects. Save the file as UTF-8 without a BOM.",
        "TG0003" => "The file contains bytes that are not UTF-8. Policy files must be UTF-8 text; re-encode the file (the position is the first invalid byte).",
        "TG0004" => "Arrays and objects nest deeper than the parser accepts. No valid policy nests that deep; the file is most likely generated wrongly.",
        "TG0005" => "An object has the same key twice. Tailscale rejects the policy rather than pick one; the secondary place is the first occurrence. Merge the two members or remove one.",
        "TG0101" => "A field that the policy format does not have, often a misspelling (the help suggests the closest known name). Tailscale rejects unknown fields.",
        "TG0102" => "A value of the wrong JSON type, e.g. a string where a list is expected. The message names the expected type.",
        "TG0201" => "A tag is used (in a rule, an owner list or a test) but not defined in `tagOwners`. Tailscale rejects it; define the tag, e.g. `\"tag:ci\": [\"autogroup:admin\"]`, or fix the spelling.",
        "TG0202" => "A group is used but not defined in `groups`. Define it or fix the spelling.",
        "TG0203" => "A name that is neither a host alias defined in `hosts` nor a valid IP address or prefix. Define the host or write the address.",
        "TG0204" => "An autogroup that does not exist, or one that is not allowed where it stands (e.g. `autogroup:self` as a source). The message names the place.",
        "TG0205" => "A rule whose destination is `autogroup:self` has a source that is not a user, a group or a supported autogroup (a tag, a host, an address). Tailscale rejects it: `autogroup:self` means the source user's own devices.",
        "TG0206" => "A port list or `ip` entry that does not parse: ports are `*`, `N` or `N-M` with 0 <= N <= M <= 65535, optionally after `proto:`.",
        "TG0207" => "An ACL action other than `accept`. Tailscale policies only allow; there is no deny rule.",
        "TG0208" => "A grant with neither `ip` nor `app` grants nothing and Tailscale rejects it. Add `\"ip\": [...]` or `\"app\": {...}`.",
        "TG0209" => "An app capability name that is not of the form `{domain}/{path}`, e.g. `example.com/cap/admin`.",
        "TG0210" => "An app capability name in the reserved `tailscale.com` domain that the control plane does not accept. Use your own domain for your own capabilities.",
        "TG0211" => "An app capability granted towards `autogroup:internet`, which Tailscale rejects: capabilities are between tailnet nodes.",
        "TG0212" => "A grant destination of `0.0.0.0/0` or `::/0`. Tailscale rejects it: write `*` for every address or `autogroup:internet` for exit-node traffic.",
        "TG0213" => "A grant's `via` names something other than a tag. Only tagged routers or exit nodes can be `via` targets.",
        "TG0214" => "An IP protocol name or number that Tailscale does not know (e.g. in `proto` or `tcp:443`'s place).",
        "TG0215" => "An `ipset:` name that is not defined in `ipsets`.",
        "TG0216" => "A posture (`srcPosture`, `defaultSrcPosture`) that is not defined in `postures`.",
        "TG0217" => "`user:*@domain` names a domain other than the tailnet's (known from `--tailnet`). Tailscale only allows the tailnet's own domain.",
        "TG0218" => "A group contains another group. Tailscale groups contain users only; list the members instead.",
        "TG0219" => "A tag name that is not valid: `tag:` followed by letters, digits and dashes, starting with a letter.",
        "TG0220" => "A group name that is not valid: `group:` followed by a name.",
        "TG0221" => "A group member that is not a user (an e-mail address, a login name or a GitHub user).",
        "TG0222" => "An entry in `tagOwners` or `autoApprovers` that cannot own a tag or approve a route: owners are users, groups, tags and `autogroup:admin`, `autogroup:member`.",
        "TG0223" => "A `hosts` entry whose value is not an IP address or prefix.",
        "TG0224" => "A `nodeAttrs` `ipPool` entry that is not a valid IP prefix.",
        "TG0225" => "An `autoApprovers.routes` key that is not a valid IP prefix.",
        "TG0226" => "A posture name that is not of the form `posture:name`.",
        "TG0227" => "An `ipsets` entry that is not an address, prefix, range, host, ipset or `add`/`remove` of one.",
        "TG0301" => "An SSH rule without an action, or with one other than `accept` and `check`.",
        "TG0302" => "An SSH rule without `users`: Tailscale rejects it. List the login names, e.g. `[\"root\", \"autogroup:nonroot\"]`.",
        "TG0303" => "An SSH login user entry that Tailscale does not accept.",
        "TG0304" => "An empty string in `acceptEnv`; remove it.",
        "TG0305" => "An SSH source that Tailscale does not accept (SSH sources are users, groups, tags and some autogroups, not addresses).",
        "TG0306" => "An SSH destination that Tailscale does not accept (tags, `autogroup:self`, users' own devices), or one not allowed for the rule's sources.",
        "TG0307" => "A `checkPeriod` that is not a duration (e.g. `12h`) or `always`, or is out of range.",
        "TG1900" => "A `// tailgrant-ignore CODE: reason` comment that silenced nothing: the finding it was written for is gone, or it stands on another line (a comment silences its own line and the next). Remove the comment, or move it to the finding.",
        "TG1901" => "A `// tailgrant-ignore` comment that cannot apply: it names no code, an unknown code or an error code (errors cannot be silenced: Tailscale rejects the policy all the same), or gives no reason after the colon. Write `// tailgrant-ignore TG1003: why this is right`.",
        "TG0308" => "An SSH source the control plane refuses for its destination or action: a user destination accepts only that same user (no tags, groups or `autogroup:member`), tagged sources cannot reach `autogroup:self` or `autogroup:member`, and a `check` rule cannot have tags in `src`. Narrow the source, or give the destination a tag.",
        "TG0401" => "An entry of the policy's `tests` that fails against the tailnet, or is malformed. The message is the control plane's; fix the policy or the test.",
        "TG0402" => "An `sshTests` destination that does not name a node of the tailnet.",
        "TG0501" => "The relay and capability assertions file (`NAME.tests.hujson`) does not have the documented form (docs/assertions.md).",
        "TG0502" => "A relay or capability assertion does not hold for the compiled policy.",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_documented() {
        for d in all() {
            assert!(!d.details.is_empty(), "{} has no documentation", d.code);
        }
    }

    #[test]
    fn lint_details_come_from_the_module_doc() {
        let d = lookup("tg1001").unwrap_or_else(|| CodeDoc {
            code: "",
            name: None,
            severity: Severity::Error,
            summary: "",
            details: String::new(),
        });
        assert_eq!(d.code, "TG1001");
        assert!(d.details.starts_with("**What:**"), "{}", d.details);
    }
}
