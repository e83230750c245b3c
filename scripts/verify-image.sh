#!/usr/bin/env bash
# Builds Hoist's Dockerfile and checks that the image runs the way the Dockerfile and
# docker-compose.yml intend: non-root, read-only root filesystem, no capabilities,
# no-new-privileges, /data volume, tmpfs /tmp, graceful SIGTERM.
#
#   bash scripts/verify-image.sh        (as root, or a user in the docker group with sudo)
#
# Needs: a Docker engine, PostgreSQL and Redis on this machine (scripts/test-env.sh starts
# them), Node 20 on the host. Works offline from Docker Hub:
#   - When the Dockerfile's base image (FROM) is absent, it builds a LOCAL stand-in with the
#     same tag: Debian bookworm (debootstrap --variant=minbase, from the apt mirror this
#     machine is configured with) + this host's Node 20 and npm + a `node` user (uid 1000),
#     like the official image. It is labelled hoist.verify=base-standin and kept for re-runs;
#     remove it with: docker rmi $(docker images -q --filter label=hoist.verify=base-standin)
#   - `npm ci` inside the build reaches the npm registry this host uses: its registry setting
#     and the CA certificates this host trusts beyond Node's own (a TLS-inspecting proxy) are
#     passed as build args that only the throwaway deps stage sees. No host name is written
#     in this repository: everything is read from apt's sources and npm's config at run time.
#
# Checks: `hoist migrate` on an empty database exits 0; `hoist bot` answers /healthz 200 and
# /readyz, and the image's HEALTHCHECK turns healthy; it runs as a non-root uid, cannot write
# to /, can write /data and /tmp; `docker stop` (SIGTERM) ends it with exit code 0 within the
# grace period; `hoist workers` (Docker socket mounted) answers /healthz and /readyz (200:
# PostgreSQL, Redis and Docker reachable) and stops the same way; `hoist proxy` starts and
# stops the same way; `hoist console` answers `help` on stdin; docker-compose.yml passes
# `config` (when a compose tool is installed).
#
# Environment (all optional):
#   VERIFY_PG_URL     PostgreSQL server to create a throwaway database on
#                     (default postgres://postgres@127.0.0.1:5432/test, trust auth)
#   VERIFY_REDIS_URL  Redis (default redis://127.0.0.1:6379/13: a db index of its own)
#   VERIFY_IMAGE      tag to build (default hoist:verify)
#   VERIFY_NO_BUILD=1 reuse VERIFY_IMAGE as it is
#   DOCKER_SOCK       engine socket to mount into the workers (default /var/run/docker.sock)
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${VERIFY_IMAGE:-hoist:verify}
LABEL=hoist.verify                      # every container/volume/image this script makes has it
PG_URL=${VERIFY_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
REDIS_URL=${VERIFY_REDIS_URL:-redis://127.0.0.1:6379/13}
DOCKER_SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
GRACE_S=30                              # compose's stop_grace_period (Hoist's own default is 25 s)
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
T0=$(date +%s)

log()  { printf '[verify-image %3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
pass() { log "ok: $*"; }

# The base image is whatever the Dockerfile's first FROM names (node:20-bookworm-slim).
BASE=$(awk 'toupper($1)=="FROM" { print $2; exit }' Dockerfile)
[ -n "$BASE" ] || fail "no FROM in Dockerfile"

# ── Cleanup: only what this script started (containers and volumes carrying $LABEL) ──
DB_NAME=""
cleanup() {
  local ids
  ids=$(docker ps -aq --filter "label=$LABEL=run" 2>/dev/null || true)
  # shellcheck disable=SC2086 # one container id per word
  [ -z "$ids" ] || docker rm -f -v $ids >/dev/null 2>&1 || true
  if [ -n "$DB_NAME" ]; then
    psql "$PG_URL" -qAtc "drop database if exists $DB_NAME" >/dev/null 2>&1 || true
  fi
  [ -z "${WORK:-}" ] || $SUDO rm -rf "$WORK"
}
trap cleanup EXIT

# ── 1. Base image: the real one if present, else a local stand-in built offline ──

# The Debian mirror URI apt uses here for bookworm's main component (deb822 .sources files
# or one-line .list files), and the keyring it is signed with. Never hard-coded.
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    # deb822: blank-line separated stanzas of "Key: value".
    awk 'BEGIN { RS=""; FS="\n" }
      { t=""; u=""; s=""; c=""; k=""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/)      t = $i
          if ($i ~ /^URIs:/)       { u = $i; sub(/^URIs:[ \t]*/, "", u); sub(/[ \t].*/, "", u) }
          if ($i ~ /^Suites:/)     s = " " $i " "
          if ($i ~ /^Components:/) c = " " $i " "
          if ($i ~ /^Signed-By:/)  { k = $i; sub(/^Signed-By:[ \t]*/, "", k) }
        }
        if (t ~ /[ \t]deb([ \t]|$)/ && s ~ /[ \t]bookworm[ \t]/ && c ~ /[ \t]main[ \t]/ && u != "") { print u, k; exit }
      }' "$f"
  done
  # One-line format: deb [options] URI suite components...
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '
    $1 == "deb" { o = ""; i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) { o = o " " $i; i++ } o = o " " $i; i++ }
      if ($(i+1) == "bookworm" && (" " $0 " ") ~ / main /) { k = ""; if (match(o, /signed-by=[^] ]+/)) k = substr(o, RSTART + 10, RLENGTH - 10); print $i, k; exit } }'
}

build_base_standin() {
  log "base image $BASE is absent: building a local stand-in (debootstrap + host Node)"
  local mirror keyring node_bin npm_dir node_ver
  read -r mirror keyring < <(debian_mirror | head -1) || true
  [ -n "${mirror:-}" ] || fail "no Debian bookworm mirror found in apt's sources"
  node_bin=$(readlink -f "$(command -v node)")
  node_ver=$("$node_bin" -p 'process.versions.node')
  [ "${node_ver%%.*}" = 20 ] || fail "host Node is $node_ver; the stand-in for $BASE needs Node 20"
  # npm as the host runs it (a global npm upgrade lives beside the packaged one).
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  [ -f "$npm_dir/package.json" ] || fail "cannot locate npm's package directory ($npm_dir)"
  command -v debootstrap >/dev/null 2>&1 || {
    log "installing debootstrap"
    $SUDO apt-get install -y -qq debootstrap >/dev/null 2>&1 || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq debootstrap >/dev/null; }
  }
  WORK=$(mktemp -d /var/tmp/hoist-verify-base.XXXXXX)
  local root=$WORK/rootfs
  log "debootstrap bookworm (minbase) from the configured mirror"
  $SUDO debootstrap --variant=minbase ${keyring:+--keyring="$keyring"} bookworm "$root" "$mirror" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; fail "debootstrap failed (log above)"; }
  # Node and npm where the official image has them (/usr/local), plus its `node` user.
  $SUDO install -D -m 0755 "$node_bin" "$root/usr/local/bin/node"
  $SUDO mkdir -p "$root/usr/local/lib/node_modules"
  $SUDO cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  $SUDO ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  $SUDO ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  local CHROOT; CHROOT=$(PATH=/usr/sbin:/sbin:$PATH command -v chroot) || fail "no chroot command"
  # env -i: nothing of this host's environment (NODE_EXTRA_CA_CERTS, proxies) leaks in.
  $SUDO env -i PATH=/usr/local/bin:/usr/bin:/bin "$CHROOT" "$root" /usr/local/bin/node -e 'process.exit(0)' \
    || fail "host Node does not run inside the stand-in (missing libraries?)"
  $SUDO env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$CHROOT" "$root" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  # Like the -slim image: no apt lists or downloaded packages, and no trace of this host's mirror.
  $SUDO rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/var/log/* "$root"/tmp/*
  : | $SUDO tee "$root/etc/apt/sources.list" >/dev/null
  log "importing the stand-in as $BASE"
  $SUDO tar -C "$root" -c . | docker import \
    --change "LABEL $LABEL=base-standin" \
    --change "ENV NODE_VERSION=$node_ver" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' \
    - "$BASE" >/dev/null
  $SUDO rm -rf "$WORK"; WORK=""
}

if docker image inspect "$BASE" >/dev/null 2>&1; then
  if [ "$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$BASE")" = base-standin ]; then
    pass "base $BASE: cached local stand-in"
  else
    pass "base $BASE: present (not built by this script)"
  fi
else
  build_base_standin
  pass "base $BASE: local stand-in built"
fi

# ── 2. docker build ──
# npm's registry and the extra CAs go to the deps stage only (ARG there; the final stage
# starts from the base again, so neither reaches the image's layers, env or history).
build_args=()
registry=$(npm config get registry 2>/dev/null || true)
[ -z "$registry" ] || build_args+=(--build-arg "NPM_CONFIG_REGISTRY=$registry")
# CA certificates npm trusts here (its cafile, else the system bundle) that Node does not
# ship: on a plain machine none; behind a TLS-inspecting proxy, that proxy's CA.
cafile=$(npm config get cafile 2>/dev/null || true)
[ -n "$cafile" ] && [ "$cafile" != null ] || cafile=/etc/ssl/certs/ca-certificates.crt
if [ -r "$cafile" ]; then
  extra_ca=$(node -e '
    const fs = require("node:fs"), tls = require("node:tls");
    const norm = (s) => s.replace(/\s+/g, "");
    const own = new Set(tls.rootCertificates.map(norm));
    const pems = fs.readFileSync(process.argv[1], "utf8").match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    process.stdout.write(pems.filter((p) => !own.has(norm(p))).join("\n"));' "$cafile")
  [ -z "$extra_ca" ] || build_args+=(--build-arg "BUILD_EXTRA_CA_PEM=$extra_ca")
fi
# Default (bridge) build network, as `docker compose build` uses; this engine (20.10, no
# buildx) builds with the legacy builder, which also accepts --network host if a registry
# proxy is only reachable on the host's loopback. --force-rm: a failed step leaves no container.
if [ "${VERIFY_NO_BUILD:-}" != 1 ]; then
  log "docker build -t $IMAGE ."
  t=$(date +%s)
  docker build --force-rm --label "$LABEL=image" "${build_args[@]}" -t "$IMAGE" . >/tmp/hoist-verify-build.log 2>&1 \
    || { tail -30 /tmp/hoist-verify-build.log >&2; fail "docker build failed (full log: /tmp/hoist-verify-build.log)"; }
  pass "docker build ($(( $(date +%s) - t )) s; log: /tmp/hoist-verify-build.log)"
  # Images of earlier runs that this tag no longer names.
  docker image prune -f --filter "label=$LABEL=image" >/dev/null 2>&1 || true
fi
docker image inspect "$IMAGE" >/dev/null 2>&1 || fail "no image $IMAGE"
[ "$(docker image inspect -f '{{.Config.User}}' "$IMAGE")" != "" ] || fail "image has no USER (would run as root)"
if docker history --no-trunc "$IMAGE" | grep -q -e BUILD_EXTRA_CA_PEM -e NPM_CONFIG_REGISTRY; then
  fail "build-only args leaked into the image's history"
fi
pass "image declares USER $(docker image inspect -f '{{.Config.User}}' "$IMAGE"); no build args in its history"

# ── 3. docker-compose.yml: the compose plugin's `config`, else docker-compose's ──
# docker-compose 1.x (Debian's package) predates `env_file: [{ path, required }]` (Compose
# 2.24+): it checks a copy without those lines, and says so.
if docker compose version >/dev/null 2>&1; then
  docker compose config -q && pass "docker compose config: valid"
elif command -v docker-compose >/dev/null 2>&1; then
  case "$(docker-compose version --short 2>/dev/null)" in
    1.*)
      tmp_compose=$(mktemp /tmp/hoist-verify-compose.XXXXXX.yml)
      grep -v '^[[:space:]]*env_file: \[{ path: \.env, required: false }\][[:space:]]*$' docker-compose.yml > "$tmp_compose"
      if docker-compose --project-directory . -f "$tmp_compose" config -q; then rm -f "$tmp_compose"
      else rm -f "$tmp_compose"; fail "docker-compose config: invalid"; fi
      pass "docker-compose $(docker-compose version --short) config: valid (env_file lines skipped: 1.x lacks required: false)" ;;
    *) docker-compose config -q && pass "docker-compose config: valid" ;;
  esac
else
  log "skip: no docker compose plugin nor docker-compose (apt-get install docker-compose) to validate docker-compose.yml"
fi

# ── 4. Run it as deployed ──
command -v psql >/dev/null 2>&1 || fail "psql is needed to create the throwaway database"
psql "$PG_URL" -qAtc 'select 1' >/dev/null 2>&1 || fail "PostgreSQL not reachable at $PG_URL (scripts/test-env.sh starts it)"
# A fresh database of its own: migrate really runs, and the workers' reconciler sees no one else's apps.
DB_NAME="hoist_verify_$$_$RANDOM"
psql "$PG_URL" -qAtc "create database $DB_NAME" >/dev/null
DATABASE_URL="${PG_URL%/*}/$DB_NAME"
MASTER_KEY=$(node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("base64"))')
free_port() { node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { process.stdout.write(String(s.address().port)); s.close(); })'; }

# The hardening compose gives bot and workers, with the host's network to reach the local
# PostgreSQL and Redis. The VOLUME /data gets an anonymous volume (removed with the container).
run_opts=(--label "$LABEL=run" --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges
  --network host --stop-timeout "$GRACE_S"
  -e DATABASE_URL="$DATABASE_URL" -e REDIS_URL="$REDIS_URL" -e HOIST_MASTER_KEY="$MASTER_KEY")

log "hoist migrate (database $DB_NAME)"
out=$(docker run --rm "${run_opts[@]}" "$IMAGE" migrate 2>&1) || { printf '%s\n' "$out" >&2; fail "hoist migrate exited non-zero"; }
printf '%s\n' "$out" | grep -q 'migrations applied' || { printf '%s\n' "$out" >&2; fail "hoist migrate printed no confirmation"; }
pass "hoist migrate exited 0: $(printf '%s\n' "$out" | grep 'migrations applied' | tail -1)"

http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" 2>/dev/null || true; }
wait_http() { # url, seconds, container → 0 when it answered 200
  for _ in $(seq 1 "$2"); do
    [ "$(http_status "$1")" = 200 ] && return 0
    [ "$(docker inspect -f '{{.State.Running}}' "$3" 2>/dev/null)" = true ] || return 1
    sleep 1
  done
  return 1
}
wait_ready() { # url, seconds → prints the last body; 0 when 200
  local code
  for _ in $(seq 1 "$2"); do
    code=$(http_status "$1")
    [ "$code" = 200 ] && { curl -s --max-time 3 "$1"; return 0; }
    sleep 1
  done
  curl -s --max-time 3 "$1" || true
  return 1
}
# Runs as the image's user; / is read-only; /data (volume) and /tmp (tmpfs) are writable.
check_sandbox() { # container
  local uid
  uid=$(docker exec "$1" id -u)
  [ "$uid" != 0 ] || fail "$1 runs as root"
  if docker exec "$1" sh -c 'echo x > /hoist-verify-probe' 2>/dev/null; then fail "$1 could write to /"; fi
  if docker exec "$1" sh -c 'echo x > /app/hoist-verify-probe' 2>/dev/null; then fail "$1 could write to /app"; fi
  docker exec "$1" sh -c 'echo x > /data/.hoist-verify-probe && rm /data/.hoist-verify-probe' || fail "$1 cannot write its /data volume"
  docker exec "$1" sh -c 'echo x > /tmp/.hoist-verify-probe && rm /tmp/.hoist-verify-probe' || fail "$1 cannot write /tmp"
  pass "$1: uid $uid, / and /app read-only, /data and /tmp writable"
}
# docker stop sends SIGTERM and waits up to the stop timeout before SIGKILL (exit 137).
check_stop() { # container [log line that a clean shutdown writes]
  local t code
  t=$(date +%s)
  docker stop -t "$GRACE_S" "$1" >/dev/null
  t=$(( $(date +%s) - t ))
  code=$(docker inspect -f '{{.State.ExitCode}}' "$1")
  [ "$code" = 0 ] || { docker logs --tail 20 "$1" >&2; fail "$1 exited $code after SIGTERM (${t} s)"; }
  [ "$t" -lt "$GRACE_S" ] || fail "$1 took ${t} s to stop (grace ${GRACE_S} s)"
  if [ -n "${2:-}" ]; then
    docker logs "$1" 2>&1 | grep -q "$2" || fail "$1 logged no $2"
    pass "$1: SIGTERM → exit 0 in ${t} s ($2 logged)"
  else
    pass "$1: SIGTERM → exit 0 in ${t} s"
  fi
}
check_healthcheck() { # container, seconds
  local s
  for _ in $(seq 1 "$2"); do
    s=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$1")
    [ "$s" = healthy ] && { pass "$1: image HEALTHCHECK reports healthy"; return 0; }
    [ "$s" = unhealthy ] && break
    sleep 1
  done
  docker inspect -f '{{json .State.Health}}' "$1" >&2
  fail "$1: HEALTHCHECK is ${s:-absent}"
}

# bot: no chat token, so no chat connection to check; /readyz covers PostgreSQL and Redis.
BOT=hoist-verify-bot-$$
BOT_PORT=$(free_port)
log "hoist bot on :$BOT_PORT"
docker run -d --name "$BOT" "${run_opts[@]}" -e PORT="$BOT_PORT" "$IMAGE" bot >/dev/null
wait_http "http://127.0.0.1:$BOT_PORT/healthz" 60 "$BOT" || { docker logs "$BOT" >&2; fail "bot: /healthz never answered 200"; }
pass "bot: GET /healthz 200"
body=$(wait_ready "http://127.0.0.1:$BOT_PORT/readyz" 30) || fail "bot: /readyz not 200: $body"
pass "bot: GET /readyz 200 ($body)"
check_sandbox "$BOT"

# workers: the engine's socket mounted (compose puts docker-proxy in between, see
# docker-compose.yml); the socket's group is added so uid 1000 may use it without root.
[ -S "$DOCKER_SOCK" ] || fail "no Docker socket at $DOCKER_SOCK"
WORKERS=hoist-verify-workers-$$
WORKERS_PORT=$(free_port)
log "hoist workers on :$WORKERS_PORT (Docker at $DOCKER_SOCK)"
docker run -d --name "$WORKERS" "${run_opts[@]}" -e PORT="$WORKERS_PORT" \
  -v "$DOCKER_SOCK:/var/run/docker.sock" --group-add "$(stat -c %g "$DOCKER_SOCK")" \
  -e DOCKER_HOST=unix:///var/run/docker.sock "$IMAGE" workers >/dev/null
wait_http "http://127.0.0.1:$WORKERS_PORT/healthz" 60 "$WORKERS" || { docker logs "$WORKERS" >&2; fail "workers: /healthz never answered 200"; }
pass "workers: GET /healthz 200"
body=$(wait_ready "http://127.0.0.1:$WORKERS_PORT/readyz" 30) || fail "workers: /readyz not 200: $body"
pass "workers: GET /readyz 200 ($body)"
check_sandbox "$WORKERS"

# The image's HEALTHCHECK (first probe after its 15 s interval).
check_healthcheck "$BOT" 45
check_healthcheck "$WORKERS" 30

# proxy (compose: network_mode host, PostgreSQL only, no HEALTHCHECK): it starts with an
# empty routing table, so it only has to come up, and go down cleanly.
PROXY=hoist-verify-proxy-$$
log "hoist proxy"
docker run -d --name "$PROXY" "${run_opts[@]}" --no-healthcheck -e HOIST_PUBLISH_ADDRESS=127.0.0.1 "$IMAGE" proxy >/dev/null
for _ in $(seq 1 60); do
  docker logs "$PROXY" 2>&1 | grep -q 'proxy.started' && break
  [ "$(docker inspect -f '{{.State.Running}}' "$PROXY")" = true ] || break
  sleep 1
done
docker logs "$PROXY" 2>&1 | grep -q 'proxy.started' || { docker logs "$PROXY" >&2; fail "proxy did not start"; }
pass "proxy: started (proxy.started logged)"
check_sandbox "$PROXY"

# Console mode (`hoist console`; `hoist start` without chat tokens): PGlite in the /data
# volume, Redis given (the image has no redis-server to start), no Docker needed. One command
# on stdin, then end of input ends it.
log "hoist console (help on stdin)"
out=$(printf 'help\n' | timeout 120 docker run -i --rm --label "$LABEL=run" --read-only --tmpfs /tmp --cap-drop ALL \
  --security-opt no-new-privileges --network host -e REDIS_URL="$REDIS_URL" "$IMAGE" console 2>&1) \
  || { printf '%s\n' "$out" | tail -20 >&2; fail "hoist console exited non-zero"; }
printf '%s\n' "$out" | grep -q 'nothing happens until someone allowed approves it' \
  || { printf '%s\n' "$out" | tail -20 >&2; fail "hoist console printed no help"; }
pass "console: answered help, exited 0 at end of input"

check_stop "$BOT" shutdown.done
check_stop "$WORKERS" shutdown.done
check_stop "$PROXY"
for c in "$BOT" "$WORKERS" "$PROXY"; do
  if docker logs "$c" 2>&1 | grep -q -i -e 'EROFS' -e 'read-only file system' -e 'EACCES'; then
    docker logs "$c" 2>&1 | grep -i -e EROFS -e 'read-only' -e EACCES | head -5 >&2
    fail "$c logged a write failure"
  fi
done

log "all checks passed in $(( $(date +%s) - T0 )) s"
