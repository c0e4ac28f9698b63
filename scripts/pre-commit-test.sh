#!/usr/bin/env bash
# Tests .pre-commit-hooks.yaml for real: installs pre-commit from PyPI into a temporary
# virtualenv, makes a temporary git repository with a good and a bad policy, and runs
# `pre-commit try-repo` against this repository, expecting `tailgrant-check` to pass on
# the good policy and fail on the bad one.
# The `tailgrant-fmt` hook is tested too (skipped while tailgrant has no `fmt` subcommand),
# and every hook must skip the assertions sidecar `policy.tests.hujson`.
#
# try-repo takes the repository's HEAD plus the uncommitted changes to tracked files
# (through a temporary commit); files that git does not track yet are left out, so
# `git add` a new file before running this.
#
# Needs python3 (with venv), git and cargo. The first run builds tailgrant in release mode
# (the hooks run `cargo install --locked`); the build is kept in target/pre-commit-install (set
# PRE_COMMIT_TEST_TARGET_DIR to move it) so that later runs are quick.
# Exit status: 0 when every expectation holds, 1 otherwise, with the reason printed.

set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tailgrant-pre-commit.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$SECONDS

fail() {
    echo "pre-commit-test: FAIL: $*" >&2
    exit 1
}
step() { echo "pre-commit-test: $*"; }

for tool in python3 git cargo; do
    command -v "$tool" >/dev/null || fail "$tool is not on PATH"
done

step "installing pre-commit into a virtualenv in $work/venv"
python3 -m venv "$work/venv" || fail "python3 -m venv failed (install python3-venv)"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check pre-commit \
    || fail "pip install pre-commit failed"
pre_commit="$work/venv/bin/pre-commit"
step "$("$pre_commit" --version)"

# pre-commit's cache (where it builds the hook) and cargo's build directory.
export PRE_COMMIT_HOME="$work/cache"
export CARGO_TARGET_DIR="${PRE_COMMIT_TEST_TARGET_DIR:-$repo/target/pre-commit-install}"

sample="$work/sample"
mkdir -p "$sample"
cd "$sample"
git init --quiet .
git config user.email "test@example.com"
git config user.name "pre-commit test"

cat >policy.hujson <<'POLICY'
// A good policy.
{
  "groups": {"group:dev": ["alice@example.com"]},
  "tagOwners": {"tag:relay": ["autogroup:admin"]},
  "grants": [
    {"src": ["group:dev"], "dst": ["tag:relay"], "app": {"tailscale.com/cap/relay": []}},
  ],
}
POLICY
cat >acl-bad.hujson <<'POLICY'
// A bad policy: tag:ci is not defined in tagOwners.
{
  "tagOwners": {"tag:relay": ["autogroup:admin"]},
  "grants": [
    {"src": ["tag:ci"], "dst": ["tag:relay"], "app": {"tailscale.com/cap/relay": []}},
  ],
}
POLICY
git add policy.hujson acl-bad.hujson
git commit --quiet -m "sample policies"

# try-repo prints the hook's output; keep it for the report on failure.
try_repo() {
    "$pre_commit" try-repo "$repo" "$@" >"$work/out" 2>&1
}

step "tailgrant-check on a good policy (the first run builds tailgrant: a few minutes)"
build_start=$SECONDS
try_repo tailgrant-check --files policy.hujson \
    || { cat "$work/out"; fail "tailgrant-check failed on a good policy"; }
step "passed as expected ($((SECONDS - build_start)) s, build included)"

step "the hooks skip the assertions sidecar policy.tests.hujson"
cat >policy.tests.hujson <<'SIDECAR'
[{"src": "group:dev", "relay": "tag:relay", "expect": "allow"}]
SIDECAR
git add policy.tests.hujson
cp policy.tests.hujson "$work/sidecar"
for hook in tailgrant-check tailgrant-fmt tailgrant-fmt-check; do
    try_repo "$hook" --files policy.tests.hujson \
        || { cat "$work/out"; fail "$hook failed on the sidecar file"; }
    grep -q "no files to check" "$work/out" \
        || { cat "$work/out"; fail "$hook ran on the sidecar file"; }
done
cmp -s policy.tests.hujson "$work/sidecar" || fail "a hook rewrote the sidecar file"
step "skipped as expected"

step "tailgrant-check on a bad policy"
if try_repo tailgrant-check --files acl-bad.hujson; then
    cat "$work/out"
    fail "tailgrant-check passed on a bad policy"
fi
grep -q 'tag:ci' "$work/out" || { cat "$work/out"; fail "the failure does not name the undefined tag"; }
step "failed as expected, naming the problem"

step "tailgrant-check with --all-files picks the policy files by name"
if try_repo tailgrant-check --all-files; then
    cat "$work/out"
    fail "tailgrant-check --all-files passed although acl-bad.hujson is bad"
fi

step "tailgrant-fmt on an unformatted policy"
printf '{"tagOwners":{"tag:relay":["autogroup:admin"]}}\n' >policy-messy.hujson
git add policy-messy.hujson
if try_repo tailgrant-fmt --files policy-messy.hujson; then
    cat "$work/out"
    fail "tailgrant-fmt passed on an unformatted file"
elif grep -q "unrecognized subcommand 'fmt'" "$work/out"; then
    step "skipped: this tailgrant has no fmt subcommand yet"
else
    git diff --quiet policy-messy.hujson && { cat "$work/out"; fail "tailgrant-fmt did not rewrite the file"; }
    git add policy-messy.hujson
    try_repo tailgrant-fmt --files policy-messy.hujson \
        || { cat "$work/out"; fail "tailgrant-fmt failed on the file it had just formatted"; }
    step "rewrote the file, then passed on it"
fi

step "all expectations held ($((SECONDS - start)) s in all)"
