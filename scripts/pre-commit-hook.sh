#!/usr/bin/env bash
# The entry of the hooks in .pre-commit-hooks.yaml. pre-commit's own `language: rust` runs
# `cargo install` without `--locked`, so it would build with whatever dependency versions are
# newest that day instead of Cargo.lock's; this script builds tailgrant from the checkout it
# lives in with `cargo install --locked` into target/pre-commit/ of that checkout (once per
# checked-out version: pre-commit keeps one checkout per `rev`), then runs it with the hook's
# arguments and files.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root="$repo/target/pre-commit"
bin="$root/bin/tailgrant"
if [ ! -x "$bin" ]; then
    if ! command -v cargo >/dev/null; then
        echo "tailgrant hook: cargo is not on PATH; install a Rust toolchain (rustup) and run again" >&2
        exit 2
    fi
    echo "tailgrant hook: building tailgrant with cargo install --locked (once per rev)" >&2
    # The hooks run `check` and `fmt` only: the relay daemon and the language server are not
    # built, which saves about a third of the build.
    cargo install --locked --quiet --no-default-features --features cli --path "$repo" --root "$root" >&2
fi
exec "$bin" "$@"
