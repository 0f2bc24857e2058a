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
COPY packages/shared/package.json packages/shared/tsconfig.json packages/shared/
COPY packages/api/package.json packages/api/tsconfig.json packages/api/
COPY packages/scheduler/package.json packages/scheduler/tsconfig.json packages/scheduler/
RUN npm ci --no-audit
COPY packages/shared/src packages/shared/src
COPY packages/shared/lua packages/shared/lua
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
COPY --from=build /app/packages/shared/package.json packages/shared/
COPY --from=build /app/packages/shared/dist packages/shared/dist
COPY --from=build /app/packages/shared/lua packages/shared/lua
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
