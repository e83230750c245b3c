#!/usr/bin/env bash
# Prepares a Debian machine for Hoist's tests, then runs the given command (default: npm test).
#   PostgreSQL on 127.0.0.1:5432 (db "test", user postgres, trust auth) — TEST_DATABASE_URL
#   Redis on 127.0.0.1:6379                                                 — TEST_REDIS_URL
#   Docker engine on the local socket (dockerd started in the background)   — DOCKER_HOST
# Run as root (or with passwordless sudo) on a fresh machine; on a ready one it only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
log() { printf '[test-env] %s\n' "$*" >&2; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
{ [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx httpd; } || missing+=(busybox-static)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

wait_for() { # name, tries, command...
  local name=$1 tries=$2; shift 2
  for _ in $(seq 1 "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  log "$name did not come up"; return 1
}

# PostgreSQL
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  log "starting PostgreSQL"
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  wait_for PostgreSQL 30 pg_isready -h 127.0.0.1 -p 5432 -q
fi
if ! psql "postgres://postgres@127.0.0.1:5432/test" -Atqc 'select 1' >/dev/null 2>&1; then
  log "configuring PostgreSQL for local trust auth and database test"
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  grep -q '^host all all 127.0.0.1/32 trust' "$hba" || $SUDO sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main reload || true
  sleep 1
  psql "postgres://postgres@127.0.0.1:5432/postgres" -Atqc "select 1 from pg_database where datname='test'" | grep -q 1 \
    || psql "postgres://postgres@127.0.0.1:5432/postgres" -qc 'create database test'
fi

# Redis
if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
  log "starting Redis"
  mkdir -p /tmp/hoist-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --maxmemory-policy noeviction --dir /tmp/hoist-redis --logfile /tmp/hoist-redis/redis.log
  wait_for Redis 20 sh -c 'redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG'
fi
# BullMQ loses jobs under eviction; make sure a pre-started Redis has the right policy.
redis-cli -h 127.0.0.1 -p 6379 config set maxmemory-policy noeviction >/dev/null 2>&1 || true

# Docker engine. A running engine whose default bridge interface is gone (a second daemon on
# this host once removed docker0) cannot run build steps: restart it so it recreates docker0.
if docker info >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 && ! ip link show docker0 >/dev/null 2>&1; then
  log "docker0 is missing: restarting dockerd"
  $SUDO kill "$(cat /var/run/docker.pid)" 2>/dev/null || $SUDO pkill -x dockerd || true
  for _ in $(seq 1 30); do pgrep -x dockerd >/dev/null || break; sleep 1; done
fi
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  mkdir -p /var/log
  (nohup $SUDO dockerd >/var/log/hoist-dockerd.log 2>&1 &)
  if ! wait_for dockerd 60 docker info; then
    tail -20 /var/log/hoist-dockerd.log >&2 || true
    exit 1
  fi
fi

# Node dependencies from the committed lockfile.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing node modules"
  # npm ci refuses a lockfile whose optional platform packages (darwin/win32 builds of native
  # helpers) the configured registry does not carry; npm install still honours the lockfile.
  npm ci --no-audit --no-fund >/dev/null 2>&1 || npm install --no-audit --no-fund >/dev/null
fi

export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379}
if [ $# -eq 0 ]; then set -- npm test; fi
log "running: $*"
exec "$@"
