#!/usr/bin/env bash
# `make bench`: the performance record. Builds the auth server, the resource
# server, benchseed and the bench program (e2e/cmd/bench) into a temporary
# directory, checks that PostgreSQL and Redis answer, runs the micro-
# benchmarks (`go test -bench`), then runs the bench, which starts the real
# binaries against a fresh PostgreSQL schema and a random Redis key prefix
# (both removed at the end), drives them with wrk (Debian's `wrk`; vegeta
# when it is missing) and prints one markdown table.
#
#   BENCH_DATABASE_URL  default $TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test?sslmode=disable
#   BENCH_REDIS_URL     default $TEST_REDIS_URL, else redis://127.0.0.1:6379/0
#   BENCH_OUT           also write the table to this file (same as: bash deploy/bench.sh -out FILE)
#   BENCH_MICRO=0       skip the micro-benchmarks
#   extra arguments go to the bench program (-load wrk|vegeta|auto -duration 8s -warmup 1s -c 16 -rounds 100 -tokens 2000)
set -euo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-go}"
DB_URL="${BENCH_DATABASE_URL:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}}"
REDIS="${BENCH_REDIS_URL:-${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/portcullis-bench-bin.XXXXXX")"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench: building into $tmp" >&2
"$GO" build -o "$tmp/authserver" ./authserver/cmd/authserver
"$GO" build -o "$tmp/resourceserver" ./resourceserver/cmd/resourceserver
"$GO" build -o "$tmp/bench" ./e2e/cmd/bench
"$GO" build -o "$tmp/benchseed" ./authserver/cmd/benchseed

# Fail clearly when a service is down (the bench checks again, with details).
if command -v pg_isready >/dev/null 2>&1; then
  if ! pg_isready -q -d "$DB_URL" -t 5; then
    echo "bench: PostgreSQL does not answer at ${DB_URL%%\?*} (set BENCH_DATABASE_URL; the README's Testing section says how to start it)" >&2
    exit 1
  fi
fi
if command -v redis-cli >/dev/null 2>&1; then
  if [ "$(redis-cli -u "$REDIS" ping 2>/dev/null)" != "PONG" ]; then
    echo "bench: Redis does not answer at $REDIS (set BENCH_REDIS_URL; the README's Testing section says how to start it)" >&2
    exit 1
  fi
fi

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench: wrk is not installed (Debian: apt-get install wrk); vegeta will drive the load, and the table says so" >&2
fi

args=(-authserver "$tmp/authserver" -resourceserver "$tmp/resourceserver" -benchseed "$tmp/benchseed"
      -database-url "$DB_URL" -redis-url "$REDIS")
if [ "${BENCH_MICRO:-1}" != 0 ]; then
  # The micro-benchmarks the table quotes: a subscriber's cost per
  # revocation event, the token cache under a scan-heavy pattern, one id
  # token signature, and the code exchange with and without openid.
  echo "bench: micro-benchmarks (go test -bench)" >&2
  micro="$tmp/micro.txt"
  export TEST_DATABASE_URL="$DB_URL" TEST_REDIS_URL="$REDIS"
  (cd middleware && "$GO" test -run '^$' -bench 'RevocationEvent' -benchmem .) >>"$micro"
  (cd shared && "$GO" test -run '^$' -bench 'Decode' -benchmem ./revocation/) >>"$micro"
  (cd authserver && "$GO" test -run '^$' -bench 'AccessCacheScanHeavy' -benchmem ./internal/tokens/) >>"$micro"
  (cd authserver && "$GO" test -run '^$' -bench 'Sign' -benchtime 2s ./internal/signing/) >>"$micro"
  (cd authserver && "$GO" test -run '^$' -bench 'CodeExchange' -benchtime 300x ./cmd/authserver/) >>"$micro"
  args+=(-micro "$micro")
fi
if [ -n "${BENCH_OUT:-}" ]; then args+=(-out "$BENCH_OUT"); fi

"$tmp/bench" run "${args[@]}" "$@" &
pid=$!
set +e
wait "$pid"
rc=$?
set -e
pid=""
exit "$rc"
