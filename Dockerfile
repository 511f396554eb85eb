# One image for every hub service. Pick the service with SERVICE
# (directory, mpi, alerts, plans, audit, agency-sim) or override the command,
# e.g. `node dist/cli/main.js fixtures load`. docker-compose.yml shows both.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# Services listen on INFOSHARE_HOST; inside a container that must be every interface.
ENV INFOSHARE_HOST=0.0.0.0
WORKDIR /app
# The whole app directory: dist/ plus what is read at run time relative to the
# project root (fixtures, demo keys, data files beside the code).
COPY --from=build /app /app
USER node
EXPOSE 4000 4001 4002 4003 4004 4010
# `exec` so node itself receives SIGTERM and shuts down gracefully (run with an
# init, as docker-compose.yml does, because PID 1 gets no default signal handling).
CMD ["sh", "-c", "exec node \"dist/services/${SERVICE:?set SERVICE to directory, mpi, alerts, plans, audit or agency-sim}/main.js\""]
