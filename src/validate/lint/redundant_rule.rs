//! Redundant grant or ACL entry.
//!
//! **What:** a grant (or ACL entry) that repeats an earlier one, or whose sources,
//! destinations and ports are all covered by another rule with the same `via` and posture
//! and no app capabilities.
//!
//! **Why:** access is the union of all rules, so the redundant rule grants nothing. It
//! misleads readers (removing it changes nothing; narrowing it does nothing either) and is
//! often the leftover of an edit that meant to change the other rule.
//!
//! **Example:**
//! ```json
//! {"grants": [{"src": ["*"], "dst": ["tag:web"], "ip": ["*"]},
//!             {"src": ["group:dev"], "dst": ["tag:web"], "ip": ["tcp:443"]}]}
//! ```
//! warns on the second grant.

use super::Rule;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::policy::Policy;
use crate::span::{Span, Spanned};
use std::collections::{BTreeSet, HashMap};

/// TG1005.
pub(crate) const RULE: Rule = Rule {
    code: codes::REDUNDANT_RULE,
    run: |cx, out| {
        let p = cx.policy;
        check(&normalized_grants(p), "grant", out);
        check(&normalized_acls(p), "ACL entry", out);
    },
};

/// A rule reduced to sets, for comparison.
#[derive(PartialEq, Eq)]
struct Shape<'p> {
    src: BTreeSet<&'p str>,
    dst: BTreeSet<&'p str>,
    ports: BTreeSet<&'p str>,
    /// Everything that must be equal for one rule to cover another (via, posture, app
    /// capabilities, protocol).
    rest: String,
    has_app: bool,
    span: Span,
}

fn set<T: std::ops::Deref<Target = str>>(list: &[Spanned<T>]) -> BTreeSet<&str> {
    list.iter().map(|s| s.trim()).collect()
}

fn normalized_grants(p: &Policy) -> Vec<Shape<'_>> {
    p.grants
        .iter()
        .map(|g| Shape {
            src: set(&g.src),
            dst: set(&g.dst),
            ports: set(&g.ip),
            rest: format!(
                "{:?}|{:?}|{:?}",
                set(&g.via),
                set(&g.src_posture),
                g.app
                    .iter()
                    .map(|(k, v)| (k.as_str(), v))
                    .collect::<Vec<_>>()
            ),
            has_app: !g.app.is_empty(),
            span: g.span,
        })
        .collect()
}

fn normalized_acls(p: &Policy) -> Vec<Shape<'_>> {
    p.acls
        .iter()
        .map(|a| Shape {
            src: set(&a.src),
            dst: set(&a.dst),
            ports: BTreeSet::new(),
            rest: format!(
                "{:?}|{:?}|{:?}",
                a.action.as_deref(),
                a.proto.as_deref(),
                set(&a.src_posture)
            ),
            has_app: false,
            span: a.span,
        })
        .collect()
}

/// `inner` is covered by `outer`: every element is in it, or `outer` holds a wildcard.
fn covered(inner: &BTreeSet<&str>, outer: &BTreeSet<&str>, wildcard: &str) -> bool {
    outer.contains(wildcard) || inner.is_subset(outer)
}

fn covers(a: &Shape<'_>, b: &Shape<'_>) -> bool {
    a.rest == b.rest
        && !a.has_app
        && !b.has_app
        && covered(&b.src, &a.src, "*")
        && covered(&b.dst, &a.dst, "*:*")
        && (covered(&b.dst, &a.dst, "*") || a.dst.contains("*:*"))
        && covered(&b.ports, &a.ports, "*")
}

fn check(rules: &[Shape<'_>], kind: &str, out: &mut Vec<Diagnostic>) {
    let index = Index::new(rules);
    report(rules, kind, out, |i| index.first_cover(rules, i));
}

/// Whether rule `j` makes rule `i` redundant: of two identical rules the later one is the
/// redundant one; otherwise `j` must cover `i`.
fn makes_redundant(rules: &[Shape<'_>], j: usize, i: usize) -> bool {
    let (a, b) = (&rules[j], &rules[i]);
    if j == i {
        return false;
    }
    let same = a.src == b.src && a.dst == b.dst && a.ports == b.ports && a.rest == b.rest;
    if same {
        j < i
    } else {
        covers(a, b)
    }
}

/// Warns on every rule (with a destination) for which `first_cover` finds the earliest rule
/// that makes it redundant.
fn report(
    rules: &[Shape<'_>],
    kind: &str,
    out: &mut Vec<Diagnostic>,
    first_cover: impl Fn(usize) -> Option<usize>,
) {
    for (i, b) in rules.iter().enumerate() {
        if b.dst.is_empty() {
            continue;
        }
        let Some(a) = first_cover(i).map(|j| &rules[j]) else {
            continue;
        };
        out.push(
            Diagnostic::warning(
                codes::REDUNDANT_RULE,
                format!("this {kind} grants nothing another rule does not already grant"),
                b.span,
            )
            .with_label("redundant")
            .with_related(a.span, format!("this {kind} already covers it"))
            .with_help("remove one of them"),
        );
    }
}

/// One of the three sets a rule is compared on.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    Src,
    Dst,
    Ports,
}

impl Field {
    /// The element that covers every other in this field (see [`covers`]: in a destination
    /// only `*:*` does).
    fn wildcard(self) -> &'static str {
        match self {
            Field::Src | Field::Ports => "*",
            Field::Dst => "*:*",
        }
    }

    fn of<'s, 'p>(self, r: &'s Shape<'p>) -> &'s BTreeSet<&'p str> {
        match self {
            Field::Src => &r.src,
            Field::Dst => &r.dst,
            Field::Ports => &r.ports,
        }
    }
}

/// Where each element occurs: for a field, the group of rules with equal `rest` (no rule
/// covers one from another group) and an element, the rules holding it, in order.
///
/// A rule that covers `b` holds, in each field where `b` has elements, either every element
/// of `b` or the field's wildcard. So for any one element of `b` the rules holding it plus
/// those holding the wildcard are a complete list of candidates; the rarest element of `b`
/// gives the shortest list. With rules that differ in any one field (a source, a port, a
/// destination of their own) that list is short and the lint is linear; only rules that
/// share every element with thousands of others still compare with each of them (finding
/// set containment exactly is quadratic in the worst case; no index avoids that).
struct Index<'r> {
    rest: FastMap<&'r str, usize>,
    postings: FastMap<(Field, usize), FastMap<&'r str, Vec<usize>>>,
}

/// The index's maps: looked up, never iterated, so a fast hasher changes no finding.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

impl<'r> Index<'r> {
    fn new(rules: &'r [Shape<'_>]) -> Self {
        let mut rest = FastMap::default();
        let mut postings: FastMap<(Field, usize), FastMap<&'r str, Vec<usize>>> =
            FastMap::default();
        for (i, r) in rules.iter().enumerate() {
            let next = rest.len();
            let group = *rest.entry(r.rest.as_str()).or_insert(next);
            for field in [Field::Src, Field::Dst, Field::Ports] {
                for &e in field.of(r) {
                    postings
                        .entry((field, group))
                        .or_default()
                        .entry(e)
                        .or_default()
                        .push(i);
                }
            }
        }
        Index { rest, postings }
    }

    fn list(&self, field: Field, group: usize, element: &str) -> &[usize] {
        self.postings
            .get(&(field, group))
            .and_then(|m| m.get(element))
            .map_or(&[], Vec::as_slice)
    }

    /// The earliest rule that makes rule `i` redundant.
    fn first_cover(&self, rules: &[Shape<'_>], i: usize) -> Option<usize> {
        self.candidates(&rules[i])
            .find(|&j| makes_redundant(rules, j, i))
    }

    /// In ascending order, every rule that may make `b` redundant (and some that do not).
    fn candidates(&self, b: &Shape<'_>) -> impl Iterator<Item = usize> + '_ {
        let lists = self.rest.get(b.rest.as_str()).and_then(|&group| {
            [Field::Src, Field::Dst, Field::Ports]
                .into_iter()
                .flat_map(|field| field.of(b).iter().map(move |&e| (field, e)))
                .map(|(field, e)| {
                    (
                        self.list(field, group, e),
                        self.list(field, group, field.wildcard()),
                    )
                })
                .min_by_key(|(s, w)| s.len() + w.len())
        });
        let (specific, wild) = lists.unwrap_or((&[], &[]));
        merged(specific, wild)
    }
}

/// The union of two ascending lists, ascending, without repeats.
fn merged<'a>(a: &'a [usize], b: &'a [usize]) -> impl Iterator<Item = usize> + 'a {
    let (mut x, mut y) = (a.iter().peekable(), b.iter().peekable());
    std::iter::from_fn(move || match (x.peek().copied(), y.peek().copied()) {
        (Some(&p), Some(&q)) => {
            if p <= q {
                x.next();
                if p == q {
                    y.next();
                }
                Some(p)
            } else {
                y.next();
                Some(q)
            }
        }
        (Some(&p), None) => {
            x.next();
            Some(p)
        }
        (None, Some(&q)) => {
            y.next();
            Some(q)
        }
        (None, None) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::names::Names;
    use crate::validate::options::Options;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;

    /// The lint as defined: every other rule is compared, the earliest that makes the rule
    /// redundant is named. Quadratic; the reference for the indexed version.
    fn check_simple(rules: &[Shape<'_>], kind: &str, out: &mut Vec<Diagnostic>) {
        report(rules, kind, out, |i| {
            (0..rules.len()).find(|&j| makes_redundant(rules, j, i))
        });
    }

    fn both(text: &str) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
        let (policy, _) = crate::model::policy::parse_policy(text).unwrap();
        let (mut fast, mut simple) = (Vec::new(), Vec::new());
        for (rules, kind) in [
            (normalized_grants(&policy), "grant"),
            (normalized_acls(&policy), "ACL entry"),
        ] {
            check(&rules, kind, &mut fast);
            check_simple(&rules, kind, &mut simple);
        }
        (fast, simple)
    }

    fn list(items: &[&str]) -> String {
        let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
        format!("[{}]", quoted.join(", "))
    }

    /// A grant or ACL entry from small pools, so that equal, covering and overlapping rules
    /// are frequent, wildcards included.
    fn rule() -> impl Strategy<Value = String> {
        let src = prop::sample::subsequence(vec!["*", "group:a", "group:b", "tag:c"], 0..=3);
        let dst =
            prop::sample::subsequence(vec!["*", "*:*", "tag:c", "tag:d", "10.0.0.0/8"], 0..=3);
        let ip = prop::sample::subsequence(vec!["*", "tcp:443", "udp:53", "22"], 0..=2);
        let acl_dst =
            prop::sample::subsequence(vec!["*:*", "tag:c:*", "tag:d:22", "tag:c:443"], 1..=2);
        let via = prop::sample::subsequence(vec!["tag:r"], 0..=1);
        prop_oneof![
            (src.clone(), dst, ip, via, any::<bool>()).prop_map(|(s, d, i, v, app)| {
                let app = if app {
                    r#", "app": {"example.com/cap/x": [{}]}"#
                } else {
                    ""
                };
                format!(
                    r#"{{"src": {}, "dst": {}, "ip": {}, "via": {}{app}}}"#,
                    list(&s),
                    list(&d),
                    list(&i),
                    list(&v)
                )
            }),
            (src, acl_dst).prop_map(|(s, d)| format!(
                r#"{{"acl": {{"action": "accept", "src": {}, "dst": {}}}}}"#,
                list(&s),
                list(&d)
            )),
        ]
    }

    fn policy(rules: &[String]) -> String {
        let (mut grants, mut acls) = (Vec::new(), Vec::new());
        for r in rules {
            match r
                .strip_prefix(r#"{"acl": "#)
                .and_then(|r| r.strip_suffix('}'))
            {
                Some(acl) => acls.push(acl.to_string()),
                None => grants.push(r.clone()),
            }
        }
        format!(
            "{{\"grants\": [{}],\n\"acls\": [{}]}}",
            grants.join(",\n"),
            acls.join(",\n")
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn indexed_lint_finds_what_the_simple_one_finds(rules in prop::collection::vec(rule(), 0..24)) {
            let text = policy(&rules);
            let (fast, simple) = both(&text);
            prop_assert_eq!(fast, simple, "{}", text);
        }
    }

    #[test]
    fn the_generator_makes_grants_and_acls_with_findings() {
        // The differential test proves something only if findings are common among the
        // generated policies, for grants and for ACL entries.
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = prop::collection::vec(rule(), 0..24);
        let (mut grant_hits, mut acl_hits) = (0, 0);
        for _ in 0..200 {
            let text = policy(&strategy.new_tree(&mut runner).unwrap().current());
            let (fast, _) = both(&text);
            grant_hits += usize::from(fast.iter().any(|d| d.message.contains("grant ")));
            acl_hits += usize::from(fast.iter().any(|d| d.message.contains("ACL entry")));
        }
        assert!(grant_hits > 30 && acl_hits > 30, "{grant_hits} {acl_hits}");
    }

    #[test]
    fn a_fixed_policy_has_the_expected_findings() {
        // The differential test means something only if findings occur: a fixed policy with
        // a duplicate, a covered rule and a wildcard cover.
        let text = r#"{"grants": [
            {"src": ["group:a"], "dst": ["tag:c"], "ip": ["tcp:443"]},
            {"src": ["group:a"], "dst": ["tag:c"], "ip": ["tcp:443"]},
            {"src": ["*"], "dst": ["tag:d"], "ip": ["*"]},
            {"src": ["group:b"], "dst": ["tag:d"], "ip": ["udp:53"]},
            {"src": ["group:b"], "dst": ["*:*"], "ip": ["22"]},
            {"src": ["group:b"], "dst": ["tag:e"], "ip": ["22"]},
        ]}"#;
        let (fast, simple) = both(text);
        assert_eq!(fast, simple);
        let starts: Vec<usize> = fast.iter().map(|d| d.span.start).collect();
        let line_of =
            |needle: &str, nth: usize| text.match_indices(needle).nth(nth).map(|(i, _)| i).unwrap();
        assert_eq!(
            starts,
            [
                line_of(r#"{"src": ["group:a"]"#, 1),
                line_of(r#"{"src": ["group:b"], "dst": ["tag:d"]"#, 0),
                line_of(r#"{"src": ["group:b"], "dst": ["tag:e"]"#, 0),
            ]
        );
    }

    #[test]
    fn many_grants_sharing_a_destination_are_compared_with_few_candidates() {
        // 20,000 grants to one destination, each from its own source: the candidate list of
        // each is its own source's, not the 20,000 sharing the destination.
        let mut text = String::from(r#"{"grants": ["#);
        for i in 0..20_000 {
            text.push_str(&format!(
                r#"{{"src": ["user{i}@example.com"], "dst": ["tag:web"], "ip": ["tcp:443"]}},"#
            ));
        }
        text.push_str(r#"{"src": ["user7@example.com"], "dst": ["tag:web"], "ip": ["tcp:443"]}]}"#);
        let (policy, _) = crate::model::policy::parse_policy(&text).unwrap();
        let rules = normalized_grants(&policy);
        let index = Index::new(&rules);
        let last = rules.len() - 1;
        assert_eq!(index.first_cover(&rules, last), Some(7));
        assert_eq!(index.first_cover(&rules, 3), None);
        let most = rules.iter().map(|r| index.candidates(r).count()).max();
        assert_eq!(most, Some(2), "a source's rules, not the destination's");
        let names = Names::new(&policy);
        let options = Options::default();
        let found = crate::validate::lint::run(&policy, &names, &options);
        assert_eq!(
            found
                .iter()
                .filter(|d| d.code == codes::REDUNDANT_RULE)
                .count(),
            1
        );
    }
}
