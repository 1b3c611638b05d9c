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

# --- prod-deps: production dependencies only, compiled output without tests ----
FROM build AS prod-deps
RUN rm -rf node_modules \
 && npm ci --omit=dev \
 && find packages services loadtest -mindepth 2 -maxdepth 2 \( -name src -o -name test \) -type d -exec rm -rf {} + \
 && find packages services loadtest -path '*/dist/test' -type d -prune -exec rm -rf {} + \
 && find packages services loadtest -name '*.tsbuildinfo' -delete \
 && npm cache clean --force

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
