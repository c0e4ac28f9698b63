//! The registry of diagnostic codes: every code that tailgrant emits is one constant here,
//! with its severity, its lint name (for lints) and its one-line summary.
//!
//! This module is the bottom of the pipeline: it imports nothing from the crate, and every
//! stage that reports a finding names its code by one of these constants, so that a code
//! cannot be misspelled and every emitted code has an entry. What each code means, why it
//! matters and how to fix it (the text of `docs/codes.md`, `tailgrant check --explain` and
//! the SARIF rule descriptions) is in `docs`.
//!
//! `TG00xx` syntax, `TG01xx` structure, `TG02xx` the network sections, `TG03xx` SSH,
//! `TG04xx` tests, `TG05xx` relay and capability assertions (errors); `TG10xx` lints and
//! `TG19xx` findings about suppression comments (warnings).

pub(crate) mod docs;

pub use docs::{all, help_uri, lookup, markdown, CodeDoc};

use std::fmt;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Tailscale's control plane would reject the policy.
    Error,
    /// Accepted by Tailscale, but likely a mistake (a lint).
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// One diagnostic code of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code {
    /// The stable identifier, e.g. `TG0201`, as printed in every output format.
    pub id: &'static str,
    /// The severity of every finding with this code.
    pub(crate) severity: Severity,
    /// The lint's short name, as in `--explain` (`None` for what is not a lint rule).
    pub(crate) lint: Option<&'static str>,
    /// One line on what it finds.
    pub(crate) summary: &'static str,
}

impl Code {
    /// The identifier, e.g. `TG0201`.
    pub const fn as_str(&self) -> &'static str {
        self.id
    }

    /// The code whose identifier is `id` (any case), if there is one.
    pub(crate) fn find(id: &str) -> Option<&'static Self> {
        ALL.iter().copied().find(|c| c.id.eq_ignore_ascii_case(id))
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id)
    }
}

impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.id == other
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.id == *other
    }
}

impl PartialEq<Code> for str {
    fn eq(&self, other: &Code) -> bool {
        self == other.id
    }
}

impl PartialEq<Code> for &str {
    fn eq(&self, other: &Code) -> bool {
        *self == other.id
    }
}

/// The one-line summary of the code `id`, or `""` when it is none.
pub fn describe_code(id: &str) -> &'static str {
    Code::find(id).map_or("", |c| c.summary)
}

/// TG0001: HuJSON syntax error.
pub const HUJSON_SYNTAX: &Code = &Code {
    id: "TG0001",
    severity: Severity::Error,
    lint: None,
    summary: "HuJSON syntax error",
};

/// TG0002: byte-order mark at the start of the file.
pub const BYTE_ORDER_MARK: &Code = &Code {
    id: "TG0002",
    severity: Severity::Error,
    lint: None,
    summary: "byte-order mark at the start of the file",
};

/// TG0003: the file is not UTF-8.
pub const NOT_UTF8: &Code = &Code {
    id: "TG0003",
    severity: Severity::Error,
    lint: None,
    summary: "the file is not UTF-8",
};

/// TG0004: nesting too deep.
pub const NESTING_TOO_DEEP: &Code = &Code {
    id: "TG0004",
    severity: Severity::Error,
    lint: None,
    summary: "nesting too deep",
};

/// TG0005: duplicate key.
pub const DUPLICATE_KEY: &Code = &Code {
    id: "TG0005",
    severity: Severity::Error,
    lint: None,
    summary: "duplicate key",
};

/// TG0090: the formatter would change the meaning of the file.
pub const FMT_MEANING_CHANGED: &Code = &Code {
    id: "TG0090",
    severity: Severity::Error,
    lint: None,
    summary: "the formatter would change the meaning of the file",
};

/// TG0101: unknown field.
pub const UNKNOWN_FIELD: &Code = &Code {
    id: "TG0101",
    severity: Severity::Error,
    lint: None,
    summary: "unknown field",
};

/// TG0102: value of the wrong type.
pub const WRONG_TYPE: &Code = &Code {
    id: "TG0102",
    severity: Severity::Error,
    lint: None,
    summary: "value of the wrong type",
};

/// TG0201: tag not defined in tagOwners.
pub const TAG_NOT_FOUND: &Code = &Code {
    id: "TG0201",
    severity: Severity::Error,
    lint: None,
    summary: "tag not defined in tagOwners",
};

/// TG0202: group not defined.
pub const GROUP_NOT_FOUND: &Code = &Code {
    id: "TG0202",
    severity: Severity::Error,
    lint: None,
    summary: "group not defined",
};

/// TG0203: unknown host or invalid address.
pub const HOST_NOT_FOUND: &Code = &Code {
    id: "TG0203",
    severity: Severity::Error,
    lint: None,
    summary: "unknown host or invalid address",
};

/// TG0204: autogroup not allowed here.
pub const AUTOGROUP_NOT_ALLOWED: &Code = &Code {
    id: "TG0204",
    severity: Severity::Error,
    lint: None,
    summary: "autogroup not allowed here",
};

/// TG0205: autogroup:self with a source that is not a user or group.
pub const AUTOGROUP_SELF_SOURCE: &Code = &Code {
    id: "TG0205",
    severity: Severity::Error,
    lint: None,
    summary: "autogroup:self with a source that is not a user or group",
};

/// TG0206: invalid port or ip entry.
pub const INVALID_PORTS: &Code = &Code {
    id: "TG0206",
    severity: Severity::Error,
    lint: None,
    summary: "invalid port or ip entry",
};

/// TG0207: unsupported ACL action.
pub const UNSUPPORTED_ACTION: &Code = &Code {
    id: "TG0207",
    severity: Severity::Error,
    lint: None,
    summary: "unsupported ACL action",
};

/// TG0208: grant with neither ip nor app.
pub const GRANT_WITHOUT_IP_OR_APP: &Code = &Code {
    id: "TG0208",
    severity: Severity::Error,
    lint: None,
    summary: "grant with neither ip nor app",
};

/// TG0209: capability name not of the form {domain}/{path}.
pub const INVALID_CAP_NAME: &Code = &Code {
    id: "TG0209",
    severity: Severity::Error,
    lint: None,
    summary: "capability name not of the form {domain}/{path}",
};

/// TG0210: capability name in the reserved tailscale.com domain.
pub const RESERVED_CAP: &Code = &Code {
    id: "TG0210",
    severity: Severity::Error,
    lint: None,
    summary: "capability name in the reserved tailscale.com domain",
};

/// TG0211: app capability towards autogroup:internet.
pub const CAP_TO_INTERNET: &Code = &Code {
    id: "TG0211",
    severity: Severity::Error,
    lint: None,
    summary: "app capability towards autogroup:internet",
};

/// TG0212: grant destination 0.0.0.0/0 or ::/0.
pub const ALL_ADDRESSES_DST: &Code = &Code {
    id: "TG0212",
    severity: Severity::Error,
    lint: None,
    summary: "grant destination 0.0.0.0/0 or ::/0",
};

/// TG0213: via names something other than a tag.
pub const VIA_NOT_TAG: &Code = &Code {
    id: "TG0213",
    severity: Severity::Error,
    lint: None,
    summary: "via names something other than a tag",
};

/// TG0214: unknown IP protocol.
pub const UNKNOWN_PROTOCOL: &Code = &Code {
    id: "TG0214",
    severity: Severity::Error,
    lint: None,
    summary: "unknown IP protocol",
};

/// TG0215: ipset not defined.
pub const IPSET_NOT_FOUND: &Code = &Code {
    id: "TG0215",
    severity: Severity::Error,
    lint: None,
    summary: "ipset not defined",
};

/// TG0216: posture not defined.
pub const POSTURE_NOT_FOUND: &Code = &Code {
    id: "TG0216",
    severity: Severity::Error,
    lint: None,
    summary: "posture not defined",
};

/// TG0217: user:*@domain outside the tailnet's domain.
pub const FOREIGN_DOMAIN: &Code = &Code {
    id: "TG0217",
    severity: Severity::Error,
    lint: None,
    summary: "user:*@domain outside the tailnet's domain",
};

/// TG0218: group inside a group.
pub const NESTED_GROUP: &Code = &Code {
    id: "TG0218",
    severity: Severity::Error,
    lint: None,
    summary: "group inside a group",
};

/// TG0219: invalid tag name.
pub const INVALID_TAG_NAME: &Code = &Code {
    id: "TG0219",
    severity: Severity::Error,
    lint: None,
    summary: "invalid tag name",
};

/// TG0220: invalid group name.
pub const INVALID_GROUP_NAME: &Code = &Code {
    id: "TG0220",
    severity: Severity::Error,
    lint: None,
    summary: "invalid group name",
};

/// TG0221: group member that is not a user.
pub const INVALID_GROUP_MEMBER: &Code = &Code {
    id: "TG0221",
    severity: Severity::Error,
    lint: None,
    summary: "group member that is not a user",
};

/// TG0222: invalid tag owner or auto-approver.
pub const INVALID_OWNER: &Code = &Code {
    id: "TG0222",
    severity: Severity::Error,
    lint: None,
    summary: "invalid tag owner or auto-approver",
};

/// TG0223: invalid host entry.
pub const INVALID_HOST: &Code = &Code {
    id: "TG0223",
    severity: Severity::Error,
    lint: None,
    summary: "invalid host entry",
};

/// TG0224: invalid nodeAttrs ipPool.
pub const INVALID_IP_POOL: &Code = &Code {
    id: "TG0224",
    severity: Severity::Error,
    lint: None,
    summary: "invalid nodeAttrs ipPool",
};

/// TG0225: invalid autoApprovers route.
pub const INVALID_ROUTE: &Code = &Code {
    id: "TG0225",
    severity: Severity::Error,
    lint: None,
    summary: "invalid autoApprovers route",
};

/// TG0226: invalid posture name.
pub const INVALID_POSTURE_NAME: &Code = &Code {
    id: "TG0226",
    severity: Severity::Error,
    lint: None,
    summary: "invalid posture name",
};

/// TG0227: invalid ipset.
pub const INVALID_IPSET: &Code = &Code {
    id: "TG0227",
    severity: Severity::Error,
    lint: None,
    summary: "invalid ipset",
};

/// TG0228: a user token that names more than one user (Headscale).
pub const AMBIGUOUS_USER: &Code = &Code {
    id: "TG0228",
    severity: Severity::Error,
    lint: None,
    summary: "user token that names more than one user",
};

/// TG0229: a node attribute Headscale does not support.
pub const UNSUPPORTED_NODE_ATTR: &Code = &Code {
    id: "TG0229",
    severity: Severity::Error,
    lint: None,
    summary: "node attribute that Headscale does not support",
};

/// TG0301: missing or invalid SSH action.
pub const INVALID_SSH_ACTION: &Code = &Code {
    id: "TG0301",
    severity: Severity::Error,
    lint: None,
    summary: "missing or invalid SSH action",
};

/// TG0302: SSH rule without users.
pub const SSH_WITHOUT_USERS: &Code = &Code {
    id: "TG0302",
    severity: Severity::Error,
    lint: None,
    summary: "SSH rule without users",
};

/// TG0303: invalid SSH login user.
pub const INVALID_SSH_USER: &Code = &Code {
    id: "TG0303",
    severity: Severity::Error,
    lint: None,
    summary: "invalid SSH login user",
};

/// TG0304: empty acceptEnv entry.
pub const EMPTY_ACCEPT_ENV: &Code = &Code {
    id: "TG0304",
    severity: Severity::Error,
    lint: None,
    summary: "empty acceptEnv entry",
};

/// TG0305: invalid SSH source.
pub const INVALID_SSH_SOURCE: &Code = &Code {
    id: "TG0305",
    severity: Severity::Error,
    lint: None,
    summary: "invalid SSH source",
};

/// TG0306: invalid SSH destination.
pub const INVALID_SSH_DESTINATION: &Code = &Code {
    id: "TG0306",
    severity: Severity::Error,
    lint: None,
    summary: "invalid SSH destination",
};

/// TG0307: invalid checkPeriod.
pub const INVALID_CHECK_PERIOD: &Code = &Code {
    id: "TG0307",
    severity: Severity::Error,
    lint: None,
    summary: "invalid checkPeriod",
};

/// TG0308: SSH source not allowed towards its destination or action.
pub const SSH_SOURCE_NOT_ALLOWED: &Code = &Code {
    id: "TG0308",
    severity: Severity::Error,
    lint: None,
    summary: "SSH source not allowed towards its destination or action",
};

/// TG0401: a test failed or is malformed.
pub const TEST_FAILED: &Code = &Code {
    id: "TG0401",
    severity: Severity::Error,
    lint: None,
    summary: "a test failed or is malformed",
};

/// TG0402: invalid sshTests destination.
pub const INVALID_SSH_TEST_DESTINATION: &Code = &Code {
    id: "TG0402",
    severity: Severity::Error,
    lint: None,
    summary: "invalid sshTests destination",
};

/// TG0501: malformed relay/capability assertions file.
pub const MALFORMED_ASSERTIONS: &Code = &Code {
    id: "TG0501",
    severity: Severity::Error,
    lint: None,
    summary: "malformed relay/capability assertions file",
};

/// TG0502: a relay/capability assertion failed.
pub const ASSERTION_FAILED: &Code = &Code {
    id: "TG0502",
    severity: Severity::Error,
    lint: None,
    summary: "a relay/capability assertion failed",
};

/// TG1001: a group no rule refers to.
pub const UNUSED_GROUP: &Code = &Code {
    id: "TG1001",
    severity: Severity::Warning,
    lint: Some("unused-group"),
    summary: "a group no rule refers to",
};

/// TG1002: a tag no rule refers to and no node of the --tailnet carries.
pub const UNUSED_TAG: &Code = &Code {
    id: "TG1002",
    severity: Severity::Warning,
    lint: Some("unused-tag"),
    summary: "a tag no rule refers to and no node of the --tailnet carries",
};

/// TG1003: a host alias no rule refers to.
pub const UNUSED_HOST: &Code = &Code {
    id: "TG1003",
    severity: Severity::Warning,
    lint: Some("unused-host"),
    summary: "a host alias no rule refers to",
};

/// TG1004: an ipset no rule refers to.
pub const UNUSED_IPSET: &Code = &Code {
    id: "TG1004",
    severity: Severity::Warning,
    lint: Some("unused-ipset"),
    summary: "an ipset no rule refers to",
};

/// TG1005: a grant or ACL entry that another rule already covers.
pub const REDUNDANT_RULE: &Code = &Code {
    id: "TG1005",
    severity: Severity::Warning,
    lint: Some("redundant-rule"),
    summary: "a grant or ACL entry that another rule already covers",
};

/// TG1006: a peer-relay grant whose src is `*`.
pub const RELAY_WILDCARD_SRC: &Code = &Code {
    id: "TG1006",
    severity: Severity::Warning,
    lint: Some("relay-wildcard-src"),
    summary: "a peer-relay grant whose src is `*`",
};

/// TG1007: a peer-relay grant whose dst matches no node of the tailnet.
pub const RELAY_WITHOUT_RELAY: &Code = &Code {
    id: "TG1007",
    severity: Severity::Warning,
    lint: Some("relay-without-relay"),
    summary: "a peer-relay grant whose dst matches no node of the tailnet",
};

/// TG1009: a field name in non-canonical case.
pub const FIELD_CASE: &Code = &Code {
    id: "TG1009",
    severity: Severity::Warning,
    lint: Some("field-case"),
    summary: "a field name in non-canonical case",
};

/// TG1010: an SSH accept rule with a checkPeriod, which only check rules use.
pub const CHECK_PERIOD_ON_ACCEPT: &Code = &Code {
    id: "TG1010",
    severity: Severity::Warning,
    lint: Some("check-period-on-accept"),
    summary: "an SSH accept rule with a checkPeriod, which only check rules use",
};

/// TG1011: a tailscale.com capability that Tailscale does not document.
pub const UNKNOWN_TAILSCALE_CAPABILITY: &Code = &Code {
    id: "TG1011",
    severity: Severity::Warning,
    lint: Some("unknown-tailscale-capability"),
    summary: "a tailscale.com capability that Tailscale does not document",
};

/// TG1012: the same selector written twice in one src or dst list.
pub const DUPLICATE_SELECTOR: &Code = &Code {
    id: "TG1012",
    severity: Severity::Warning,
    lint: Some("duplicate-selector"),
    summary: "the same selector written twice in one src or dst list",
};

/// TG1900: a tailgrant-ignore comment that silences nothing.
pub const UNUSED_SUPPRESSION: &Code = &Code {
    id: "TG1900",
    severity: Severity::Warning,
    lint: None,
    summary: "a tailgrant-ignore comment that silences nothing",
};

/// TG1901: a tailgrant-ignore comment without a reason, or naming an error or an unknown code.
pub const INVALID_SUPPRESSION: &Code = &Code {
    id: "TG1901",
    severity: Severity::Warning,
    lint: None,
    summary: "a tailgrant-ignore comment without a reason, or naming an error or an unknown code",
};

/// Every code, in identifier order.
pub const ALL: &[&Code] = &[
    HUJSON_SYNTAX,
    BYTE_ORDER_MARK,
    NOT_UTF8,
    NESTING_TOO_DEEP,
    DUPLICATE_KEY,
    FMT_MEANING_CHANGED,
    UNKNOWN_FIELD,
    WRONG_TYPE,
    TAG_NOT_FOUND,
    GROUP_NOT_FOUND,
    HOST_NOT_FOUND,
    AUTOGROUP_NOT_ALLOWED,
    AUTOGROUP_SELF_SOURCE,
    INVALID_PORTS,
    UNSUPPORTED_ACTION,
    GRANT_WITHOUT_IP_OR_APP,
    INVALID_CAP_NAME,
    RESERVED_CAP,
    CAP_TO_INTERNET,
    ALL_ADDRESSES_DST,
    VIA_NOT_TAG,
    UNKNOWN_PROTOCOL,
    IPSET_NOT_FOUND,
    POSTURE_NOT_FOUND,
    FOREIGN_DOMAIN,
    NESTED_GROUP,
    INVALID_TAG_NAME,
    INVALID_GROUP_NAME,
    INVALID_GROUP_MEMBER,
    INVALID_OWNER,
    INVALID_HOST,
    INVALID_IP_POOL,
    INVALID_ROUTE,
    INVALID_POSTURE_NAME,
    INVALID_IPSET,
    AMBIGUOUS_USER,
    UNSUPPORTED_NODE_ATTR,
    INVALID_SSH_ACTION,
    SSH_WITHOUT_USERS,
    INVALID_SSH_USER,
    EMPTY_ACCEPT_ENV,
    INVALID_SSH_SOURCE,
    INVALID_SSH_DESTINATION,
    INVALID_CHECK_PERIOD,
    SSH_SOURCE_NOT_ALLOWED,
    TEST_FAILED,
    INVALID_SSH_TEST_DESTINATION,
    MALFORMED_ASSERTIONS,
    ASSERTION_FAILED,
    UNUSED_GROUP,
    UNUSED_TAG,
    UNUSED_HOST,
    UNUSED_IPSET,
    REDUNDANT_RULE,
    RELAY_WILDCARD_SRC,
    RELAY_WITHOUT_RELAY,
    FIELD_CASE,
    CHECK_PERIOD_ON_ACCEPT,
    UNKNOWN_TAILSCALE_CAPABILITY,
    DUPLICATE_SELECTOR,
    UNUSED_SUPPRESSION,
    INVALID_SUPPRESSION,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_unique_and_in_order() {
        for pair in ALL.windows(2) {
            assert!(pair[0].id < pair[1].id, "{} before {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn lints_are_warnings_and_their_codes_tg1xxx() {
        for c in ALL {
            let warning_range = c.id.starts_with("TG1");
            assert_eq!(c.severity == Severity::Warning, warning_range, "{c}");
            if c.lint.is_some() {
                assert!(c.id.starts_with("TG10"), "{c}");
            }
        }
    }

    #[test]
    fn find_ignores_case_and_refuses_unknown_codes() {
        assert_eq!(Code::find("tg0201"), Some(TAG_NOT_FOUND));
        assert_eq!(Code::find("TG9999"), None);
        assert_eq!(describe_code("TG0090"), FMT_MEANING_CHANGED.summary);
    }
}
