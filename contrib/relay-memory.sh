#!/usr/bin/env bash
# Resident memory of `tailgrant relay` with a generated tailnet of N nodes (default 10000),
# each with a disco key, and a policy with per-group relay grants. Prints the load time
# and VmRSS/VmHWM once the relay is serving, then after a reload (the policy file changed).
#   cargo build --release && contrib/relay-memory.sh [N]
set -euo pipefail
N=${1:-10000}
BIN=${BIN:-target/release/tailgrant}
DIR=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$DIR"' EXIT
python3 - "$N" "$DIR" <<'PY'
import json, os, sys
n, d = int(sys.argv[1]), sys.argv[2]
users = [{"id": i + 1, "name": f"u{i}", "email": f"u{i}@example.com"} for i in range(n // 10)]
nodes = {}
for i in range(n):
    a, b = divmod(i + 10, 256)
    node = {"hostname": f"n{i}", "ipv4": f"100.64.{a}.{b}", "ipv6": f"fd7a:115c:a1e0::{i + 10:x}",
            "disco_key": "discokey:" + os.urandom(32).hex()}
    if i % 5 == 0:
        node["tags"] = [f"tag:t{i % 50}"]
    else:
        node["user"] = f"u{i % len(users)}"
    nodes[f"n{i}"] = node
nodes["relay"] = {"hostname": "relay", "ipv4": "100.100.0.1", "tags": ["tag:relay"],
                  "relay": {"port": 7777}}
json.dump({"tailnet": "u0@example.com", "users": users, "nodes": nodes},
          open(f"{d}/tailnet.json", "w"))
groups = {f"group:g{g}": [f"u{i}@example.com" for i in range(g, len(users), 20)] for g in range(20)}
owners = {f"tag:t{t}": ["autogroup:admin"] for t in range(50)} | {"tag:relay": ["autogroup:admin"]}
grants = [{"src": ["autogroup:member"], "dst": ["autogroup:member"], "ip": ["*"]}]
grants += [{"src": [f"group:g{g}"], "dst": [f"tag:t{g}"], "ip": ["tcp:443"]} for g in range(20)]
grants += [{"src": [f"group:g{g}" for g in range(0, 20, 2)] + ["tag:t0"], "dst": ["tag:relay"],
            "app": {"tailscale.com/cap/relay": []}}]
json.dump({"groups": groups, "tagOwners": owners, "grants": grants}, open(f"{d}/policy.hujson", "w"))
PY
"$BIN" keygen -o "$DIR/relay.key" >/dev/null
START=$(date +%s.%N)
"$BIN" relay --policy "$DIR/policy.hujson" --tailnet "$DIR/tailnet.json" --node relay \
    --key "$DIR/relay.key" --listen 127.0.0.1:0 >"$DIR/out" 2>"$DIR/err" &
PID=$!
until grep -q "relay listening" "$DIR/out" 2>/dev/null; do
    kill -0 "$PID" || { cat "$DIR/err"; exit 1; }
    sleep 0.05
done
END=$(date +%s.%N)
echo "nodes: $N  tailnet file: $(du -h "$DIR/tailnet.json" | cut -f1)  start to serving: $(python3 -c "print(round($END - $START, 2))") s"
grep -E "VmRSS|VmHWM" "/proc/$PID/status" | tr -s ' \t' ' ' | sed 's/^/after start: /'
# Force a real recompile: a changed policy file (one more comment line).
echo "// touched" >>"$DIR/policy.hujson"
until grep -q "policy reloaded" "$DIR/err"; do sleep 0.05; done
sleep 0.2
grep -E "VmRSS|VmHWM" "/proc/$PID/status" | tr -s ' \t' ' ' | sed 's/^/after a reload: /'
