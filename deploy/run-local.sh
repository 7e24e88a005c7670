#!/usr/bin/env bash
# `make run`: builds both servers (showing progress) and starts them for a
# person at a terminal: the auth server on :8000 (SQLite in ./data, an
# embedded Redis on 127.0.0.1:6380) and the resource server on :8001, which
# hears the auth server's revocations through that Redis. Both log as text,
# each line prefixed with its service. Ctrl-C, or kill -INT / -TERM on make
# or on this script, stops both (by PID): the resource server first, so
# that its revocation subscription ends before the Redis it listens to.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
AUTH_PORT=${PORT:-8000}
RS_PORT=${RS_PORT:-8001}
export LOG_FORMAT="${LOG_FORMAT:-text}"
mkdir -p bin data
# The OpenID Connect signing keys are sealed under KEY_ENCRYPTION_KEY; make
# one once, kept beside the SQLite files (owner-only).
if [ -z "${KEY_ENCRYPTION_KEY:-}" ]; then
  [ -s data/key-encryption-key ] || (umask 077; head -c 32 /dev/urandom | base64 > data/key-encryption-key)
  KEY_ENCRYPTION_KEY="$(cat data/key-encryption-key)"
  export KEY_ENCRYPTION_KEY
fi

say() { printf 'make run: %s\n' "$*"; }

# build NAME PACKAGE compiles bin/NAME, printing how many packages have
# been compiled so far (a first build compiles a few hundred).
build() {
  local name=$1 pkg=$2 log pid rc n last=-1
  log=$(mktemp)
  say "compiling bin/$name"
  "$GO" build -buildvcs=auto -v -o "bin/$name" "./$pkg" 2>"$log" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    n=$(grep -c . "$log")
    if [ -t 1 ]; then
      printf '\r  %s: %d packages compiled' "$name" "$n"
    elif [ "$n" -ne "$last" ] && [ $((SECONDS % 10)) -eq 0 ]; then
      echo "  $name: $n packages compiled"
      last=$n
    fi
    sleep 1
  done
  wait "$pid"
  rc=$?
  [ -t 1 ] && printf '\r\033[K'
  if [ "$rc" -ne 0 ]; then
    cat "$log" >&2
    rm -f "$log"
    say "bin/$name did not build"
    exit 1
  fi
  say "bin/$name built ($(grep -c . "$log") packages compiled)"
  rm -f "$log"
}

build authserver authserver/cmd/authserver
build resourceserver resourceserver/cmd/resourceserver

# prefix LABEL puts LABEL in front of every line. It ignores SIGINT, so that
# a Ctrl-C at the terminal does not cut a server's last log lines off.
prefix() {
  trap '' INT
  exec sed -u "s/^/$1 | /"
}

auth= rs= watcher=
stop() {
  trap - INT TERM
  [ -n "$watcher" ] && kill "$watcher" 2>/dev/null
  say "stopping"
  if [ -n "$rs" ]; then kill -TERM "$rs" 2>/dev/null; wait "$rs" 2>/dev/null; fi
  if [ -n "$auth" ]; then kill -TERM "$auth" 2>/dev/null; wait "$auth" 2>/dev/null; fi
  say "stopped"
  exit 0
}
trap stop INT TERM

# make answers kill -INT by waiting for its recipe instead of passing the
# signal on. It stops catching SIGINT when that happens (the bit leaves
# SigCgt in /proc), so watch for that and stop as if interrupted.
sigcgt() { sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null; }
if [ -n "${RUN_PARENT:-}" ] && mask=$(sigcgt "$RUN_PARENT") && [ -n "$mask" ] && (( (16#$mask & 2) != 0 )); then
  (
    while mask=$(sigcgt "$RUN_PARENT") && [ -n "$mask" ] && (( (16#$mask & 2) != 0 )); do
      sleep 0.2
    done
    kill -TERM $$ 2>/dev/null
  ) &
  watcher=$!
fi

# wait_up NAME PID URL waits until URL answers, or the process exits.
wait_up() {
  local name=$1 pid=$2 url=$3
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { say "$name exited; see its log above"; stop; }
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  say "$name did not answer $url within a minute"
  stop
}

# The resource server's /users/token/ proxy reaches the auth server over
# loopback and forwards X-Forwarded-For: trust it, so that logins through it
# are throttled per real client, not all as 127.0.0.1.
PORT="$AUTH_PORT" DATABASE_URL="${DATABASE_URL:-sqlite:data/authserver.db}" \
  TRUSTED_PROXIES="${TRUSTED_PROXIES:-127.0.0.1/32,::1/128}" \
  bin/authserver serve > >(prefix "auth    ") 2>&1 &
auth=$!
wait_up "the auth server" "$auth" "http://127.0.0.1:$AUTH_PORT/healthz"

PORT="$RS_PORT" DATABASE_URL="${RS_DATABASE_URL:-sqlite:data/resourceserver.db}" \
  AUTH_SERVER_URL="${AUTH_SERVER_URL:-http://localhost:$AUTH_PORT}" \
  REDIS_URL="${REDIS_URL:-redis://${EMBEDDED_REDIS_ADDR:-127.0.0.1:6380}}" \
  bin/resourceserver serve > >(prefix "resource") 2>&1 &
rs=$!
wait_up "the resource server" "$rs" "http://127.0.0.1:$RS_PORT/healthz"

cat <<MSG

  Portcullis is running.
    http://localhost:$AUTH_PORT/          the auth server: log in, applications, admin, discovery document
    http://localhost:$RS_PORT/items/    the resource server's items (needs a Bearer token)

  Next, in another terminal at the repository root:
    the tutorial's application:  bin/authserver createclient --name resource-server --client-id rs-id --client-secret rs-secret --client-type confidential --grant-types password,refresh_token
    an admin for /admin/:        bin/authserver createsuperuser
    then the README's "Try it" block (sign up, token, items, introspect, refresh, revoke).

  ./data keeps users, clients and items between runs: stop, then \`make reset\` to start clean.
  Ctrl-C stops both.

MSG
wait -n "$auth" "$rs"
say "a server exited"
stop
