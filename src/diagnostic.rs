//! Diagnostics: every problem found in a policy, with a stable code, a span and help.

use crate::codes::Code;
use crate::span::Span;
use std::fmt;

pub use crate::codes::Severity;

/// One finding about a policy file.
///
/// `message` holds the control plane's own wording where Tailscale has one, so that a user can
/// search for it; `label` says what is wrong at the span and `help` how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code from the registry ([`crate::codes`]).
    pub code: &'static Code,
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
    pub(crate) fn error(code: &'static Code, message: impl Into<String>, span: Span) -> Self {
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
    pub(crate) fn warning(code: &'static Code, message: impl Into<String>, span: Span) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message, span)
        }
    }

    /// Sets the label shown at the span.
    #[must_use]
    pub(crate) fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Sets the help line.
    #[must_use]
    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a secondary place with its note.
    #[must_use]
    pub(crate) fn with_related(mut self, span: Span, label: impl Into<String>) -> Self {
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
    pub(crate) fn with_suggestion(mut self, wrong: &str, right: &str) -> Self {
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
    pub(crate) fn from_vec(mut all: Vec<Diagnostic>) -> Self {
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
    pub(crate) fn sort(&mut self) {
        self.errors.sort_by_key(|d| (d.span.start, d.span.end));
        self.warnings.sort_by_key(|d| (d.span.start, d.span.end));
    }
}
