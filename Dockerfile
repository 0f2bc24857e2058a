# One image for both services of waiting-queue (docker-compose.yml picks the command):
#   api        node packages/api/dist/main.js        (default CMD)
#   scheduler  node packages/scheduler/dist/main.js
#
# Stage 1 installs every dependency from the lockfile, builds the workspaces with turbo, then prunes the dev
# dependencies; stage 2 keeps only the production node_modules, the compiled dist/ and the Lua scripts.

FROM node:20-slim AS build
WORKDIR /app
ENV TURBO_TELEMETRY_DISABLED=1 \
    DO_NOT_TRACK=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false
# Manifests first, so that the npm ci layer is cached until a dependency changes.
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY packages/core/package.json packages/core/tsconfig.json packages/core/
COPY packages/http/package.json packages/http/tsconfig.json packages/http/
COPY packages/testkit/package.json packages/testkit/tsconfig.json packages/testkit/
COPY packages/api/package.json packages/api/tsconfig.json packages/api/
COPY packages/scheduler/package.json packages/scheduler/tsconfig.json packages/scheduler/
RUN npm ci --no-audit
COPY packages/core/src packages/core/src
COPY packages/http/src packages/http/src
COPY packages/testkit/src packages/testkit/src
COPY packages/core/lua packages/core/lua
COPY packages/api/src packages/api/src
COPY packages/scheduler/src packages/scheduler/src
RUN npx turbo run build \
 && npm prune --omit=dev --no-audit \
 && npm cache clean --force

FROM node:20-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
# node_modules/@waiting-queue/* are symlinks to packages/*: copied as links, resolved by the files below.
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/packages/core/package.json packages/core/
COPY --from=build /app/packages/http/package.json packages/http/
COPY --from=build /app/packages/testkit/package.json packages/testkit/
COPY --from=build /app/packages/core/dist packages/core/dist
COPY --from=build /app/packages/http/dist packages/http/dist
COPY --from=build /app/packages/testkit/dist packages/testkit/dist
COPY --from=build /app/packages/core/lua packages/core/lua
COPY --from=build /app/packages/api/package.json packages/api/
COPY --from=build /app/packages/api/dist packages/api/dist
# Static files of the waiting-room page and the admin console (served next to dist/).
COPY packages/api/public packages/api/public
COPY --from=build /app/packages/scheduler/package.json packages/scheduler/
COPY --from=build /app/packages/scheduler/dist packages/scheduler/dist
COPY packages/scheduler/public packages/scheduler/public
COPY deploy/seed-demo-items.js deploy/
USER node
# api: API_PORT 8080; scheduler admin API: ADMIN_PORT 8081 (set ADMIN_HOST=0.0.0.0 inside a container).
EXPOSE 8080 8081
CMD ["node", "packages/api/dist/main.js"]
