#!/usr/bin/env bash
# A walk-through of fault rules and the control API with curl: edgecase in front of an origin,
# a 522 rule for /checkout added at run time, the page it gives (HTML and JSON), the request
# log, and the rule deleted again.
#
#   examples/walkthrough.sh                      # builds edgecase (release) and runs it all
#   ORIGIN=127.0.0.1:3000 examples/walkthrough.sh   # in front of your own origin instead
#   EDGECASE=target/debug/edgecase examples/walkthrough.sh   # a binary you already built
#
# It uses examples/faults-demo.toml, so ports 8080 (visitors) and 8081 (control API) on
# 127.0.0.1 must be free. Without ORIGIN it serves a one-page origin on 127.0.0.1:3000 with
# python3. Needs curl; jq, if present, pretty-prints the JSON. Everything it starts is stopped
# when it ends.
set -eu
cd "$(dirname "$0")/.."

EDGE=http://127.0.0.1:8080
ADMIN=http://127.0.0.1:8081
PIDS=()
WORK=$(mktemp -d)
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
# Runs a command after echoing it (arguments with spaces or quotes shown in single quotes).
show() {
  printf '$'
  for arg in "$@"; do
    case $arg in *[\ \"\{]*) printf " '%s'" "$arg" ;; *) printf ' %s' "$arg" ;; esac
  done
  echo
  "$@"
  echo
}
# Pretty-prints JSON from stdin when jq is installed.
pretty() { if command -v jq >/dev/null 2>&1; then jq .; else cat; echo; fi; }
# GET $1 and check the status is $2.
expect() {
  local status
  status=$(curl -s -o /dev/null -w '%{http_code}' "$EDGE$1")
  printf 'GET %s -> %s (expected %s)\n' "$1" "$status" "$2"
  [ "$status" = "$2" ] || { echo "unexpected status; edgecase log: $WORK/edgecase.log" >&2; exit 1; }
}

step "an origin"
if [ -z "${ORIGIN:-}" ]; then
  mkdir -p "$WORK/site/checkout"
  echo '<h1>Checkout, served by the origin</h1>' >"$WORK/site/checkout/index.html"
  python3 -m http.server 3000 --bind 127.0.0.1 --directory "$WORK/site" >/dev/null 2>&1 &
  PIDS+=($!)
  ORIGIN=127.0.0.1:3000
  echo "python3 -m http.server on $ORIGIN"
fi

step "edgecase with examples/faults-demo.toml"
if [ -z "${EDGECASE:-}" ]; then
  cargo build --release --quiet
  EDGECASE=target/release/edgecase
fi
"$EDGECASE" --config examples/faults-demo.toml --origin "$ORIGIN" 2>"$WORK/edgecase.log" &
PIDS+=($!)
for _ in $(seq 50); do
  curl -fs "$ADMIN/healthz" >/dev/null 2>&1 && curl -fs -o /dev/null "http://$ORIGIN/checkout/" \
    && break
  sleep 0.1
done
show curl -s "$ADMIN/healthz"
expect /checkout/ 200

step "add a rule: every request under /checkout answers 522"
show curl -s -X POST "$ADMIN/faults" -H 'content-type: application/json' \
  -d '{"path_prefix": "/checkout", "status": 522}'
RULE=$(curl -s "$ADMIN/faults")
ID=$(printf '%s' "$RULE" | sed -n 's/.*"id": *\([0-9][0-9]*\).*/\1/p')
echo "the rule's id: $ID"

step "the page a browser gets, after timeouts.connect (2 s) as a real 522"
printf '$ curl -s -i %s/checkout/ | head -n 20\n' "$EDGE"
curl -s -i "$EDGE/checkout/" | head -n 20
echo "..."
expect / 200

step "the same error for a machine (Accept: application/json)"
printf '$ curl -s -H "accept: application/json" %s/checkout/\n' "$EDGE"
curl -s -H 'accept: application/json' "$EDGE/checkout/" | pretty

step "why did they fail? the request log, newest first"
printf '$ curl -s "%s/requests?limit=5&status=5xx"\n' "$ADMIN"
curl -s "$ADMIN/requests?limit=5&status=5xx" | pretty

step "delete the rule: /checkout reaches the origin again"
show curl -s -o /dev/null -w '%{http_code}\n' -X DELETE "$ADMIN/faults/$ID"
show curl -s "$ADMIN/faults"
expect /checkout/ 200
echo
echo "done"
