#!/usr/bin/env bash
# Starts the local stack for `make run`: the auth server on :8000 and, when
# built, the resource server on :8001. With no DATABASE_URL each uses a
# SQLite file under ./data; with no REDIS_URL the auth server runs an
# embedded Redis on 127.0.0.1:6380 and the resource server listens there for
# revocations. Ctrl-C stops both, by PID.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p data
export LOG_FORMAT="${LOG_FORMAT:-text}"
# The OpenID Connect signing keys are sealed under KEY_ENCRYPTION_KEY; make
# one once, kept beside the SQLite files (owner-only).
if [ -z "${KEY_ENCRYPTION_KEY:-}" ]; then
  [ -s data/key-encryption-key ] || (umask 077; head -c 32 /dev/urandom | base64 > data/key-encryption-key)
  KEY_ENCRYPTION_KEY="$(cat data/key-encryption-key)"
  export KEY_ENCRYPTION_KEY
fi

pids=()
stop() {
  trap - INT TERM
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  wait
  exit 0
}
trap stop INT TERM

# The resource server's /users/token/ proxy reaches the auth server over
# loopback and forwards X-Forwarded-For: trust it, so that logins through it
# are throttled per real client, not all as 127.0.0.1.
DATABASE_URL="${DATABASE_URL:-sqlite:data/authserver.db}" \
TRUSTED_PROXIES="${TRUSTED_PROXIES:-127.0.0.1/32,::1/128}" \
  bin/authserver serve &
pids+=($!)

for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:${PORT:-8000}/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

if [ -x bin/resourceserver ]; then
  PORT="${RS_PORT:-8001}" \
  DATABASE_URL="${RS_DATABASE_URL:-sqlite:data/resourceserver.db}" \
  REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6380}" \
    bin/resourceserver serve &
  pids+=($!)
fi

cat <<MSG

  Portcullis is running.
    auth server:      http://localhost:${PORT:-8000}/   (admin: create one with  bin/authserver createsuperuser)
    resource server:  http://localhost:${RS_PORT:-8001}/items/
  Register the tutorial's client in another terminal:
    bin/authserver createclient --name resource-server --client-id rs-id --client-secret rs-secret --client-type confidential --grant-types password,refresh_token
  Ctrl-C stops both.

MSG
wait
