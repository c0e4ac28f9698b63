//! The documentation of every diagnostic code: what it finds, why it matters, how to fix it.
//!
//! Error codes (`TG0xxx`) and the suppression findings (`TG19xx`) are described here; a lint
//! (`TG10xx`) is documented by the doc comment of its module in `src/validate/lint/`, read
//! from the source at build time, so that one text serves `docs/codes.md`, `tailgrant check
//! --explain` and the SARIF rule descriptions.
//! `docs/codes.md` is [`markdown`]'s output (regenerate it with
//! `cargo run -q -- check --explain all > docs/codes.md`).

use super::{Code, Severity, ALL};

/// The documentation of one code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeDoc {
    /// The code, e.g. `TG0201`.
    pub(crate) code: &'static str,
    /// The lint's short name (`None` for errors).
    pub(crate) name: Option<&'static str>,
    /// Error or warning.
    pub(crate) severity: Severity,
    /// One line on what it finds.
    pub summary: &'static str,
    /// What it finds, why it matters and how to fix it (Markdown).
    pub(crate) details: String,
}

impl CodeDoc {
    /// The summary and the details as plain text (SARIF's full description).
    pub(crate) fn full_text(&self) -> String {
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

/// Every code, in code order.
pub fn all() -> Vec<CodeDoc> {
    ALL.iter().map(|c| doc(c)).collect()
}

/// The documentation of one code of the registry.
fn doc(code: &Code) -> CodeDoc {
    CodeDoc {
        code: code.id,
        name: code.lint,
        severity: code.severity,
        summary: code.summary,
        details: match code.lint {
            Some(_) => lint_details(code),
            None => details(code).to_string(),
        },
    }
}

/// The documentation of `code` (any case), if it is one.
pub fn lookup(code: &str) -> Option<CodeDoc> {
    Code::find(code).map(doc)
}

/// `docs/codes.md`: every entry, with a title and an index.
pub fn markdown() -> String {
    let mut s = String::from(
        "# Diagnostic codes\n\n\
         <!-- Generated from the registry (src/codes.rs, src/codes/docs.rs, src/validate/lint/); \
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
fn lint_details(code: &Code) -> String {
    use super::*;
    let source = match code {
        UNUSED_GROUP | UNUSED_TAG | UNUSED_HOST | UNUSED_IPSET => {
            include_str!("../validate/lint/unused.rs")
        }
        REDUNDANT_RULE => include_str!("../validate/lint/redundant_rule.rs"),
        RELAY_WILDCARD_SRC => include_str!("../validate/lint/relay_wildcard_src.rs"),
        RELAY_WITHOUT_RELAY => include_str!("../validate/lint/relay_without_relay.rs"),
        UNKNOWN_TAILSCALE_CAPABILITY => {
            include_str!("../validate/lint/unknown_tailscale_capability.rs")
        }
        FIELD_CASE => include_str!("../validate/lint/field_case.rs"),
        CHECK_PERIOD_ON_ACCEPT => include_str!("../validate/lint/check_period_on_accept.rs"),
        DUPLICATE_SELECTOR => include_str!("../validate/lint/duplicate_selector.rs"),
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

/// What a code that is not a lint means and how to fix it.
fn details(code: &Code) -> &'static str {
    use super::*;
    match code {
        HUJSON_SYNTAX => "The text is not HuJSON (JSON with comments and trailing commas), so Tailscale cannot read the policy at all. The position is where parsing stopped; a missing comma, quote or closing bracket just before it is the usual cause.",
        BYTE_ORDER_MARK => "The file starts with a UTF-8 byte-order mark, which Tailscale's parser rejects. Save the file as UTF-8 without a BOM.",
        NOT_UTF8 => "The file contains bytes that are not UTF-8. Policy files must be UTF-8 text; re-encode the file (the position is the first invalid byte).",
        NESTING_TOO_DEEP => "Arrays and objects nest deeper than the parser accepts. No valid policy nests that deep; the file is most likely generated wrongly.",
        FMT_MEANING_CHANGED => "`tailgrant fmt` formatted the file, parsed the result and found that it would not mean the same as the input, so it left the file as it is. This is a bug in the formatter, not in the policy: please report it with the file.",
        DUPLICATE_KEY => "An object has the same key twice. Tailscale rejects the policy rather than pick one; the secondary place is the first occurrence. Merge the two members or remove one.",
        UNKNOWN_FIELD => "A field that the policy format does not have, often a misspelling (the help suggests the closest known name). Tailscale rejects unknown fields.",
        WRONG_TYPE => "A value of the wrong JSON type, e.g. a string where a list is expected. The message names the expected type.",
        TAG_NOT_FOUND => "A tag is used (in a rule, an owner list or a test) but not defined in `tagOwners`. Tailscale rejects it; define the tag, e.g. `\"tag:ci\": [\"autogroup:admin\"]`, or fix the spelling.",
        GROUP_NOT_FOUND => "A group is used but not defined in `groups`. Define it or fix the spelling.",
        HOST_NOT_FOUND => "A name that is neither a host alias defined in `hosts` nor a valid IP address or prefix. Define the host or write the address.",
        AUTOGROUP_NOT_ALLOWED => "An autogroup that does not exist, or one that is not allowed where it stands (e.g. `autogroup:self` as a source). The message names the place.",
        AUTOGROUP_SELF_SOURCE => "A rule whose destination is `autogroup:self` has a source that is not a user, a group or a supported autogroup (a tag, a host, an address). Tailscale rejects it: `autogroup:self` means the source user's own devices.",
        INVALID_PORTS => "A port list or `ip` entry that does not parse: ports are `*`, `N` or `N-M` with 0 <= N <= M <= 65535, optionally after `proto:`.",
        UNSUPPORTED_ACTION => "An ACL action other than `accept`. Tailscale policies only allow; there is no deny rule.",
        GRANT_WITHOUT_IP_OR_APP => "A grant with neither `ip` nor `app` grants nothing and Tailscale rejects it. Add `\"ip\": [...]` or `\"app\": {...}`.",
        INVALID_CAP_NAME => "An app capability name that is not of the form `{domain}/{path}`, e.g. `example.com/cap/admin`.",
        RESERVED_CAP => "An app capability name in the reserved `tailscale.com` domain that the control plane does not accept. Use your own domain for your own capabilities.",
        CAP_TO_INTERNET => "An app capability granted towards `autogroup:internet`, which Tailscale rejects: capabilities are between tailnet nodes.",
        ALL_ADDRESSES_DST => "A grant destination of `0.0.0.0/0` or `::/0`. Tailscale rejects it: write `*` for every address or `autogroup:internet` for exit-node traffic.",
        VIA_NOT_TAG => "A grant's `via` names something other than a tag. Only tagged routers or exit nodes can be `via` targets.",
        UNKNOWN_PROTOCOL => "An IP protocol name or number that Tailscale does not know (e.g. in `proto` or `tcp:443`'s place).",
        IPSET_NOT_FOUND => "An `ipset:` name that is not defined in `ipsets`.",
        POSTURE_NOT_FOUND => "A posture (`srcPosture`, `defaultSrcPosture`) that is not defined in `postures`.",
        FOREIGN_DOMAIN => "`user:*@domain` names a domain other than the tailnet's (known from `--tailnet`). Tailscale only allows the tailnet's own domain.",
        NESTED_GROUP => "A group contains another group. Tailscale groups contain users only; list the members instead.",
        INVALID_TAG_NAME => "A tag name that is not valid: `tag:` followed by letters, digits and dashes, starting with a letter.",
        INVALID_GROUP_NAME => "A group name that is not valid: `group:` followed by a name.",
        INVALID_GROUP_MEMBER => "A group member that is not a user (an e-mail address, a login name or a GitHub user).",
        INVALID_OWNER => "An entry in `tagOwners` or `autoApprovers` that cannot own a tag or approve a route: owners are users, groups, tags and `autogroup:admin`, `autogroup:member`.",
        INVALID_HOST => "A `hosts` entry whose value is not an IP address or prefix.",
        INVALID_IP_POOL => "A `nodeAttrs` `ipPool` entry that is not a valid IP prefix.",
        INVALID_ROUTE => "An `autoApprovers.routes` key that is not a valid IP prefix.",
        INVALID_POSTURE_NAME => "A posture name that is not of the form `posture:name`.",
        INVALID_IPSET => "An `ipsets` entry that is not an address, prefix, range, host, ipset or `add`/`remove` of one.",
        AMBIGUOUS_USER => "Under the Headscale dialect, with a tailnet: a user token (`name@` or an e-mail) in a group, a tag owner, an auto-approver, an ACL or an SSH rule that more than one Headscale user answers to by e-mail or name, none by provider identifier. Headscale refuses to load the policy rather than drop the rule; rename one of the users, or name the user by its e-mail or provider identifier.",
        UNSUPPORTED_NODE_ATTR => "Under the Headscale dialect: a `nodeAttrs` attribute that Headscale parses but cannot act on yet (`funnel`). Headscale refuses the policy rather than hand nodes a feature that would not work; remove the attribute until Headscale supports it (the message names the issue that tracks it).",
        INVALID_SSH_ACTION => "An SSH rule without an action, or with one other than `accept` and `check`.",
        SSH_WITHOUT_USERS => "An SSH rule without `users`: Tailscale rejects it. List the login names, e.g. `[\"root\", \"autogroup:nonroot\"]`.",
        INVALID_SSH_USER => "An SSH login user entry that Tailscale does not accept.",
        EMPTY_ACCEPT_ENV => "An empty string in `acceptEnv`; remove it.",
        INVALID_SSH_SOURCE => "An SSH source that Tailscale does not accept (SSH sources are users, groups, tags and some autogroups, not addresses).",
        INVALID_SSH_DESTINATION => "An SSH destination that Tailscale does not accept (tags, `autogroup:self`, users' own devices), or one not allowed for the rule's sources.",
        INVALID_CHECK_PERIOD => "A `checkPeriod` that is not a duration (e.g. `12h`) or `always`, or is out of range.",
        UNUSED_SUPPRESSION => "A `// tailgrant-ignore CODE: reason` comment that silenced nothing: the finding it was written for is gone, or it stands on another line (a comment silences its own line and the next). Remove the comment, or move it to the finding.",
        INVALID_SUPPRESSION => "A `// tailgrant-ignore` comment that cannot apply: it names no code, an unknown code or an error code (errors cannot be silenced: Tailscale rejects the policy all the same), or gives no reason after the colon. Write `// tailgrant-ignore TG1003: why this is right`.",
        SSH_SOURCE_NOT_ALLOWED => "An SSH source the control plane refuses for its destination or action: a user destination accepts only that same user (no tags, groups or `autogroup:member`), tagged sources cannot reach `autogroup:self` or `autogroup:member`, and a `check` rule cannot have tags in `src`. Narrow the source, or give the destination a tag.",
        TEST_FAILED => "An entry of the policy's `tests` that fails against the tailnet, or is malformed. The message is the control plane's; fix the policy or the test.",
        INVALID_SSH_TEST_DESTINATION => "An `sshTests` destination that does not name a node of the tailnet.",
        MALFORMED_ASSERTIONS => "The relay and capability assertions file (`NAME.tests.hujson`) does not have the documented form (docs/assertions.md).",
        ASSERTION_FAILED => "A relay or capability assertion does not hold for the compiled policy.",
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
