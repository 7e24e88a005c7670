#!/usr/bin/env bash
# redis-cluster.sh: a throwaway 3-master Redis Cluster on loopback, from the
# installed redis-server, for `make test-cluster` and local experiments.
#
#   deploy/redis-cluster.sh [start]   start it; prints REDIS_CLUSTER_ADDRS=127.0.0.1:7001,...
#   deploy/redis-cluster.sh stop      stop the nodes it started (by recorded PID) and remove its dir
#   deploy/redis-cluster.sh status    cluster_state of the first node
#
# Settings (environment):
#   REDIS_CLUSTER_PORTS  space- or comma-separated ports, at least 3 (default "7001 7002 7003")
#   REDIS_CLUSTER_DIR    working dir holding configs, logs and PID files
#                        (default ${TMPDIR:-/tmp}/portcullis-redis-cluster-<first port>)
#   REDIS_SERVER, REDIS_CLI   binaries (default /usr/bin/redis-server, redis-cli on PATH)
#
# Nothing is persisted (--save "" --appendonly no). Every node binds 127.0.0.1
# only. The script stops only the PIDs it wrote into its own dir.
set -euo pipefail

ports_raw="${REDIS_CLUSTER_PORTS:-7001 7002 7003}"
read -r -a ports <<<"${ports_raw//,/ }"
dir="${REDIS_CLUSTER_DIR:-${TMPDIR:-/tmp}/portcullis-redis-cluster-${ports[0]}}"
server="${REDIS_SERVER:-/usr/bin/redis-server}"
[ -x "$server" ] || server="$(command -v redis-server || true)"
cli="${REDIS_CLI:-$(command -v redis-cli || true)}"

die() { echo "redis-cluster.sh: $*" >&2; exit 1; }

addrs() {
  local out="" p
  for p in "${ports[@]}"; do out+="${out:+,}127.0.0.1:$p"; done
  echo "$out"
}

stop() {
  local f pid stopped=0
  [ -d "$dir" ] || { echo "redis-cluster.sh: nothing to stop in $dir"; return 0; }
  for f in "$dir"/*.pid; do
    [ -e "$f" ] || continue
    pid="$(cat "$f")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
      stopped=$((stopped + 1))
    fi
    rm -f "$f"
  done
  rm -rf "$dir"
  echo "redis-cluster.sh: stopped $stopped node(s)"
}

start() {
  [ "${#ports[@]}" -ge 3 ] || die "need at least 3 ports for 3 masters, got: ${ports[*]}"
  [ -n "$server" ] && [ -x "$server" ] || die "redis-server not found (install redis-server, or set REDIS_SERVER)"
  [ -n "$cli" ] || die "redis-cli not found (install redis-tools, or set REDIS_CLI)"
  local p pid
  for p in "${ports[@]}"; do
    [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 55535 ] || die "bad port $p (the cluster bus uses port+10000)"
  done
  if compgen -G "$dir/*.pid" >/dev/null; then
    die "$dir already holds a running cluster's PIDs; run '$0 stop' first"
  fi
  for p in "${ports[@]}"; do
    if "$cli" -h 127.0.0.1 -p "$p" ping >/dev/null 2>&1; then
      die "port $p already answers PING; choose other ports with REDIS_CLUSTER_PORTS"
    fi
  done
  mkdir -p "$dir"
  for p in "${ports[@]}"; do
    mkdir -p "$dir/$p"
    "$server" --port "$p" --bind 127.0.0.1 --protected-mode yes \
      --cluster-enabled yes --cluster-config-file "$dir/$p/nodes.conf" \
      --cluster-node-timeout 5000 \
      --save "" --appendonly no --dir "$dir/$p" \
      --daemonize yes --pidfile "$dir/$p.pid" --logfile "$dir/$p/redis.log" \
      || { stop >/dev/null; die "redis-server on port $p did not start"; }
  done
  for p in "${ports[@]}"; do
    for _ in $(seq 1 50); do
      "$cli" -h 127.0.0.1 -p "$p" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    "$cli" -h 127.0.0.1 -p "$p" ping >/dev/null 2>&1 || { stop >/dev/null; die "node $p does not answer; see its log in $dir/$p"; }
  done
  local nodes=()
  for p in "${ports[@]}"; do nodes+=("127.0.0.1:$p"); done
  "$cli" --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 \
    || { cat "$dir/create.log" >&2; stop >/dev/null; die "redis-cli --cluster create failed"; }
  local ok=""
  for _ in $(seq 1 100); do
    ok=1
    for p in "${ports[@]}"; do
      "$cli" -h 127.0.0.1 -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || { ok=""; break; }
    done
    [ -n "$ok" ] && break
    sleep 0.1
  done
  [ -n "$ok" ] || { stop >/dev/null; die "cluster_state did not become ok"; }
  echo "REDIS_CLUSTER_ADDRS=$(addrs)"
  echo "# stop with: REDIS_CLUSTER_PORTS=\"${ports[*]}\" $0 stop   (dir $dir)" >&2
}

status() {
  [ -n "$cli" ] || die "redis-cli not found"
  "$cli" -h 127.0.0.1 -p "${ports[0]}" cluster info | grep '^cluster_state:'
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  addrs) echo "REDIS_CLUSTER_ADDRS=$(addrs)" ;;
  *) die "usage: $0 [start|stop|status|addrs]" ;;
esac
