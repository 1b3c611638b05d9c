# syntax=docker/dockerfile:1
# Herald: one image for every role (HERALD_ROLES=edge|api|worker, default all three).
#   docker build -t herald .
#   docker run -p 8080:8080 herald                       # embedded default, no Redis
#   docker run -e REDIS_URL=redis://redis:6379 -e HERALD_ROLES=edge herald

# --- build: all dependencies, compile every TypeScript project -------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.base.json tsconfig.json ./
COPY packages ./packages
COPY services ./services
COPY loadtest ./loadtest
RUN npm ci && npx tsc -b

# --- prod-deps: only what @herald/server runs, for this platform -----------------
# npm ci --workspace installs @herald/server's dependencies from the lockfile (no dev
# dependencies, no test tooling); prune-image.mjs then removes what the image can never
# use: uWebSockets.js binaries for other platforms and Node versions and its JavaScript
# fallback (~107 MB), sources, tests, maps and docs. (The npm cache stays in this stage.)
FROM build AS prod-deps
COPY scripts/prune-image.mjs ./scripts/prune-image.mjs
RUN rm -rf node_modules \
 && npm ci --omit=dev --workspace=@herald/server \
 && node scripts/prune-image.mjs .

# --- runtime ---------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
COPY --from=prod-deps --chown=root:root /app /app
# The image's own "node" user (uid 1000): never run as root.
USER node
EXPOSE 8080
# Node itself checks /healthz: the slim image has no curl or wget.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM starts the graceful drain (HERALD_DRAIN_WINDOW_MS); give `docker stop -t` more than that.
STOPSIGNAL SIGTERM
CMD ["node", "services/cli/dist/src/main.js"]
