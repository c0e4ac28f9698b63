#!/usr/bin/env bash
# Tries the VS Code extension in a real VS Code, headless: builds tailgrant and the extension
# as the README says (`npm ci && npm test`, `npx @vscode/vsce package`), installs code-server
# (VS Code in a browser) from npm into a temporary folder, installs the .vsix into it, starts
# it on 127.0.0.1 with `tailgrant.path` set to the built binary, and drives it with
# playwright-core and Chromium (editors/vscode/e2e/try-vscode.js): the finding of
# `tailgrant check` in the Problems panel and in the hover over the squiggle, the hover on a
# selector, and "Format Document" giving exactly `tailgrant fmt`'s output. Screenshots (PNG)
# go to target/try-vscode/. Exits non-zero when a check fails.
#
# Run by hand, not in CI. Needs:
# - network access to the npm registry (code-server, playwright-core, @vscode/vsce);
# - Node.js 20 (code-server 4.100 requires exactly 20; later code-server wants 22 or 24) and
#   npm, with what code-server's native modules build with: a C/C++ toolchain, make,
#   python3, pkg-config, libkrb5-dev, and Node's headers (found in /usr/include/node when
#   Node comes from a distribution package; otherwise node-gyp downloads them);
# - Chromium (Debian's `chromium`; CHROMIUM=/path/to/it for another);
# - ripgrep (`rg`) on PATH, handed to code-server's @vscode/ripgrep, whose install would
#   otherwise download it from GitHub; without `rg`, that download is tried.
# Settings: CODE_SERVER_VERSION (default 4.100.3), CODE_SERVER (an installed code-server
# executable: skips the install), KEEP=1 (keep the temporary folder, printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
version=${CODE_SERVER_VERSION:-4.100.3}
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ]; then
  echo "try-vscode: Chromium not found (apt-get install chromium, or set CHROMIUM)" >&2
  exit 2
fi
shots="$root/target/try-vscode"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/try-vscode.XXXXXX")
server_pid=
# shellcheck disable=SC2317 # run by the trap
cleanup() {
  if [ -n "$server_pid" ]; then
    # Its own process group (setsid below): code-server, its helpers and the language server.
    kill -- "-$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "${KEEP:-}" = 1 ]; then
    echo "try-vscode: kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%T)"; }

step "cargo build"
cargo build --bin tailgrant
tailgrant="$root/target/debug/tailgrant"

step "the extension, as the README builds it"
(
  cd editors/vscode
  npm ci --no-audit --no-fund
  npm test
  rm -f tailgrant-0.1.0.vsix
  npx --yes @vscode/vsce package
)
vsix="$root/editors/vscode/tailgrant-0.1.0.vsix"

# code-server and the editor's own files stay in $tmp (its config file goes to
# $XDG_CONFIG_HOME, npm's temporary files and @vscode/ripgrep's download cache to $TMPDIR).
export XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data" TMPDIR="$tmp/tmp"
mkdir -p "$TMPDIR"
if [ -n "${CODE_SERVER:-}" ]; then
  code_server=$CODE_SERVER
else
  step "code-server $version from npm"
  mkdir -p "$tmp/code-server"
  cd "$tmp/code-server"
  echo '{"private": true}' >package.json
  tarball=$(npm pack --silent "code-server@$version")
  if command -v rg >/dev/null 2>&1 && [ "$(uname -m)" = x86_64 ]; then
    # @vscode/ripgrep (of VS Code's dependencies) takes the tarball it finds in its cache
    # instead of downloading it: give it this rg under the name it looks for.
    rg_package=$(tar -xzOf "$tarball" package/lib/vscode/npm-shrinkwrap.json \
      | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () =>
          console.log(JSON.parse(s).packages["node_modules/@vscode/ripgrep"].version));')
    rg_tarball=$(npm pack --silent "@vscode/ripgrep@$rg_package")
    rg_release=$(tar -xzOf "$rg_tarball" package/lib/postinstall.js \
      | sed -n "s/^const VERSION = '\(.*\)';/\1/p")
    cache="$TMPDIR/vscode-ripgrep-cache-$rg_package"
    mkdir -p "$cache" "$tmp/rg"
    cp "$(command -v rg)" "$tmp/rg/rg"
    tar -czf "$cache/ripgrep-$rg_release-x86_64-unknown-linux-musl.tar.gz" -C "$tmp/rg" rg
    echo "@vscode/ripgrep $rg_package ($rg_release): $(command -v rg)"
  fi
  # Native modules are built against the headers of the running Node when it has them;
  # node-pty's install runs `npx node-gyp`, hence npm_config_yes.
  if [ -f /usr/include/node/node.h ] && [ "$(command -v node)" = /usr/bin/node ]; then
    export npm_config_nodedir=/usr
  fi
  npm_config_yes=true npm_config_unsafe_perm=true \
    npm install --no-audit --no-fund "./$tarball"
  cd "$root"
  code_server="$tmp/code-server/node_modules/.bin/code-server"
fi
"$code_server" --version

step "playwright-core from npm"
mkdir -p "$tmp/playwright"
(cd "$tmp/playwright" && echo '{"private": true}' >package.json \
  && npm install --no-audit --no-fund playwright-core)

step "code-server --install-extension"
user_data="$tmp/user-data"
extensions="$tmp/extensions"
mkdir -p "$user_data/User" "$extensions"
"$code_server" --user-data-dir "$user_data" --extensions-dir "$extensions" \
  --install-extension "$vsix"
cat >"$user_data/User/settings.json" <<EOF
{
  "tailgrant.path": "$tailgrant",
  "security.workspace.trust.enabled": false,
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false
}
EOF

# The folder opened: copies of policy-examples/ (with its tailnet.json, which hover reads)
# and a policy with a known error.
workspace="$tmp/workspace"
mkdir -p "$workspace"
cp -r policy-examples/. "$workspace/"
error=TG0201-tag-not-found.hujson
cp "fixtures/check/$error" "$workspace/"

step "code-server on 127.0.0.1"
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
setsid "$code_server" --bind-addr "127.0.0.1:$port" --auth none --disable-telemetry \
  --disable-update-check --disable-workspace-trust \
  --user-data-dir "$user_data" --extensions-dir "$extensions" "$workspace" \
  >"$tmp/code-server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$tmp/code-server.log" >&2
    echo "try-vscode: code-server exited" >&2
    exit 2
  fi
  sleep 1
done

step "VS Code, driven by playwright-core ($chromium)"
rm -rf "$shots"
mkdir -p "$shots"
status=0
TG_URL="http://127.0.0.1:$port/" TG_WORKSPACE="$workspace" TG_ERROR="$error" \
  TAILGRANT="$tailgrant" CHROMIUM="$chromium" TG_SHOTS="$shots" \
  NODE_PATH="$tmp/playwright/node_modules" \
  node editors/vscode/e2e/try-vscode.js || status=$?
if [ "$status" -ne 0 ]; then
  echo "try-vscode: code-server's log:" >&2
  tail -n 40 "$tmp/code-server.log" >&2
fi
exit "$status"
