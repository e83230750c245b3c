# Hoist (bot or workers: the command picks the process). Runs TypeScript through tsx, as
# `npm start` does, so there is no build step to drift from the sources.
#
#   docker build -t hoist .
#   docker run --read-only --tmpfs /tmp -v hoist-data:/data --env-file .env hoist bot
#
# Non-root (uid 1000, the image's `node` user), and read-only-root-filesystem friendly:
# everything Hoist writes goes to $HOIST_DATA_DIR (/data, a volume) and tsx's compile cache
# to /tmp (a tmpfs). Not built in CI (it cannot pull base images); scripts/verify-image.sh
# builds it here on a local stand-in for the base and checks bot, workers, proxy and console.
FROM node:20-bookworm-slim AS deps
# Build-time only, seen by this stage alone (the final stage starts again from the base, so
# neither reaches the image): an npm registry mirror, and extra CA certificates (PEM text)
# for a TLS-inspecting proxy on the way to it. Both unset by default; scripts/verify-image.sh
# passes this machine's.
ARG NPM_CONFIG_REGISTRY
ARG BUILD_EXTRA_CA_PEM
WORKDIR /app
COPY package.json package-lock.json ./
RUN set -e; \
    if [ -n "${BUILD_EXTRA_CA_PEM:-}" ]; then \
      printf '%s\n' "$BUILD_EXTRA_CA_PEM" > /tmp/build-ca.pem; export NODE_EXTRA_CA_CERTS=/tmp/build-ca.pem; \
    fi; \
    npm ci --omit=dev --ignore-scripts; \
    npm cache clean --force; \
    rm -f /tmp/build-ca.pem

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOIST_DATA_DIR=/data \
    PORT=3000 \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY bot ./bot
COPY workers ./workers
COPY db ./db
# Console mode (`hoist start` without chat tokens, `hoist console`) imports the demo image builder.
COPY scripts/demo-image.ts scripts/tar.ts ./scripts/
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# /healthz is liveness; orchestrators should route by /readyz (PostgreSQL, Redis, Docker, chat).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM → graceful shutdown (HOIST_SHUTDOWN_GRACE_MS, default 25 s): give the container
# a stop timeout above it (compose: stop_grace_period: 30s).
ENTRYPOINT ["node", "bin/hoist.mjs"]
CMD ["bot"]
