# The gateway as a container image. Two stages: build with the dev dependencies (TypeScript), then
# run with the production ones only. `npm run artifact-check` (run by .ci/run) performs these
# same steps in a temporary directory where no container engine is available.
#
# Pin the base image by digest for reproducible production builds (docker pull, then
# node:24-bookworm-slim@sha256:...); engines in package.json asks for Node >= 24.11 (24 LTS).
# The image brings its own Node: the optional node-linux-* packages, which give a checkout Node 24
# on any machine (README, Development), are left out of both stages (--omit=optional).

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=optional --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/
COPY generated generated
COPY openapi/galileo.yaml openapi/
COPY src src
RUN npm run build
RUN npm prune --omit=dev --omit=optional --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# Root owns the code; the service runs as the image's unprivileged user and cannot change it.
USER node
EXPOSE 8080
# node itself is PID 1 (no npm, no shell): SIGTERM from `docker stop` or Kubernetes reaches the
# gateway, which drains in-flight requests (SHUTDOWN_DRAIN_MS) and exits 0. Configuration comes
# from the environment; mount secrets as files and pass NAME_FILE (see README, Configuration).
CMD ["node", "--max-old-space-size=384", "--max-semi-space-size=16", "dist/src/main.js"]
