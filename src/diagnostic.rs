//! Diagnostics: every problem found in a policy, with a stable code, a span and help.

use crate::span::Span;
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

/// One finding about a policy file.
///
/// `message` holds the control plane's own wording where Tailscale has one, so that a user can
/// search for it; `label` says what is wrong at the span and `help` how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code, e.g. `TG0101`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// Where in the file.
    pub span: Span,
    /// A short note shown at the span.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Other places that explain this one (the first definition of a duplicate, the rule that
    /// covers a redundant one), each with its own short note.
    pub related: Box<[Related]>,
    /// The fix a "did you mean" help proposes, for an editor's quick fix.
    pub suggestion: Option<Box<Suggestion>>,
}

/// A replacement a diagnostic proposes: `wrong`, as it stands within the diagnostic's span,
/// is likely a typo of `right`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The word as written.
    pub wrong: String,
    /// What it likely should be.
    pub right: String,
}

/// A secondary place of a [`Diagnostic`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// Where in the file.
    pub span: Span,
    /// What it is, shown at the span (e.g. `first defined here`).
    pub label: String,
}

impl Diagnostic {
    /// An error with `code` and `message` at `span`.
    pub fn error(code: &'static str, message: impl Into<String>, span: Span) -> Self {
        Self {
            code,
            severity: Severity::Error,
            message: message.into(),
            span,
            label: String::new(),
            help: None,
            related: Box::default(),
            suggestion: None,
        }
    }

    /// A warning with `code` and `message` at `span`.
    pub fn warning(code: &'static str, message: impl Into<String>, span: Span) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message, span)
        }
    }

    /// Sets the label shown at the span.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Sets the help line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a secondary place with its note.
    #[must_use]
    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Self {
        let mut related = std::mem::take(&mut self.related).into_vec();
        related.push(Related {
            span,
            label: label.into(),
        });
        self.related = related.into_boxed_slice();
        self
    }

    /// Proposes `right` in place of `wrong` (a word within the span).
    #[must_use]
    pub fn with_suggestion(mut self, wrong: &str, right: &str) -> Self {
        self.suggestion = Some(Box::new(Suggestion {
            wrong: wrong.to_string(),
            right: right.to_string(),
        }));
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let label = (!self.label.is_empty()).then(|| self.label.clone());
        let primary = miette::LabeledSpan::new_primary_with_span(label, self.span);
        let secondary = self
            .related
            .iter()
            .map(|r| miette::LabeledSpan::new_with_span(Some(r.label.clone()), r.span));
        Some(Box::new(std::iter::once(primary).chain(secondary)))
    }
}

/// Errors and warnings of one check, kept apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// What Tailscale would reject.
    pub errors: Vec<Diagnostic>,
    /// Lints.
    pub warnings: Vec<Diagnostic>,
}

impl Findings {
    /// Adds a diagnostic to the list its severity names.
    pub fn push(&mut self, d: Diagnostic) {
        match d.severity {
            Severity::Error => self.errors.push(d),
            Severity::Warning => self.warnings.push(d),
        }
    }

    /// All diagnostics, errors first, each list in source order.
    pub fn all(&self) -> impl Iterator<Item = &Diagnostic> {
        self.errors.iter().chain(self.warnings.iter())
    }

    /// Splits `all` by severity without copying the larger list: a policy with a million
    /// findings must not hold them twice.
    pub fn from_vec(mut all: Vec<Diagnostic>) -> Self {
        all.sort_by_key(|d| d.is_error());
        let first_error = all.partition_point(|d| !d.is_error());
        let errors = all.split_off(first_error);
        Self {
            errors,
            warnings: all,
        }
    }

    /// The number of diagnostics, errors and warnings.
    pub fn len(&self) -> usize {
        self.errors.len() + self.warnings.len()
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sorts each list by position.
    pub fn sort(&mut self) {
        self.errors.sort_by_key(|d| (d.span.start, d.span.end));
        self.warnings.sort_by_key(|d| (d.span.start, d.span.end));
    }
}

/// Every error code with a one-line description. Lint codes (`TG1xxx`) live in
/// [`crate::lint::RULES`].
pub const CODES: &[(&str, &str)] = &[
    ("TG0001", "HuJSON syntax error"),
    ("TG0002", "byte-order mark at the start of the file"),
    ("TG0003", "the file is not UTF-8"),
    ("TG0004", "nesting too deep"),
    ("TG0005", "duplicate key"),
    ("TG0101", "unknown field"),
    ("TG0102", "value of the wrong type"),
    ("TG0201", "tag not defined in tagOwners"),
    ("TG0202", "group not defined"),
    ("TG0203", "unknown host or invalid address"),
    ("TG0204", "autogroup not allowed here"),
    (
        "TG0205",
        "autogroup:self with a source that is not a user or group",
    ),
    ("TG0206", "invalid port or ip entry"),
    ("TG0207", "unsupported ACL action"),
    ("TG0208", "grant with neither ip nor app"),
    ("TG0209", "capability name not of the form {domain}/{path}"),
    (
        "TG0210",
        "capability name in the reserved tailscale.com domain",
    ),
    ("TG0211", "app capability towards autogroup:internet"),
    ("TG0212", "grant destination 0.0.0.0/0 or ::/0"),
    ("TG0213", "via names something other than a tag"),
    ("TG0214", "unknown IP protocol"),
    ("TG0215", "ipset not defined"),
    ("TG0216", "posture not defined"),
    ("TG0217", "user:*@domain outside the tailnet's domain"),
    ("TG0218", "group inside a group"),
    ("TG0219", "invalid tag name"),
    ("TG0220", "invalid group name"),
    ("TG0221", "group member that is not a user"),
    ("TG0222", "invalid tag owner or auto-approver"),
    ("TG0223", "invalid host entry"),
    ("TG0224", "invalid nodeAttrs ipPool"),
    ("TG0225", "invalid autoApprovers route"),
    ("TG0226", "invalid posture name"),
    ("TG0227", "invalid ipset"),
    ("TG0301", "missing or invalid SSH action"),
    ("TG0302", "SSH rule without users"),
    ("TG0303", "invalid SSH login user"),
    ("TG0304", "empty acceptEnv entry"),
    ("TG0305", "invalid SSH source"),
    ("TG0306", "invalid SSH destination"),
    ("TG0307", "invalid checkPeriod"),
    (
        "TG0308",
        "SSH source not allowed towards its destination or action",
    ),
    ("TG0401", "a test failed or is malformed"),
    ("TG0402", "invalid sshTests destination"),
    ("TG0501", "malformed relay/capability assertions file"),
    ("TG0502", "a relay/capability assertion failed"),
    ("TG1900", "a tailgrant-ignore comment that silences nothing"),
    (
        "TG1901",
        "a tailgrant-ignore comment without a reason, or naming an error or an unknown code",
    ),
];

/// The one-line description of a code, error or lint.
pub fn describe_code(code: &str) -> &'static str {
    CODES
        .iter()
        .map(|(c, d)| (*c, *d))
        .chain(crate::lint::RULES.iter().map(|r| (r.code, r.summary)))
        .find(|(c, _)| *c == code)
        .map_or("", |(_, d)| d)
}
