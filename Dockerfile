# The Interview Graph application image: one image for the three subgraphs, the notification
# service and the gateway; docker-compose.yml picks the entry point per service
# (`node dist/<entry>.js`, the compiled entry points `npm start` runs too).
#
# Two stages: `build` installs every dependency and compiles the TypeScript once
# (`npm run build`: tsc into dist/, plus the schema files the runtime reads beside its modules);
# the image itself has the production dependencies only and runs the compiled JavaScript with
# plain `node`, so no TypeScript compiler, tsx or dev tool is installed or loaded at run time.
FROM node:20-bookworm-slim AS build

WORKDIR /app

# npm's postinstall patches a dependency (scripts/patch-dependencies.js), so that script and its
# patches come with the manifests.
COPY package.json package-lock.json ./
COPY scripts/patch-dependencies.js ./scripts/
COPY scripts/patches ./scripts/patches
RUN npm ci --no-audit --no-fund

COPY . .
RUN npm run build

FROM node:20-bookworm-slim

WORKDIR /app

COPY package.json package-lock.json ./
COPY scripts/patch-dependencies.js ./scripts/
COPY scripts/patches ./scripts/patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The notification service's MAIL_DIR in docker-compose.yml (.eml files while SMTP_URL is
# unset): a new named volume takes the owner of the folder it is mounted on, so it must exist
# here, owned by the user the services run as.
RUN mkdir -p /var/lib/interview-graph/mail && chown -R node:node /var/lib/interview-graph

# The compiled code, and the supergraph the gateway reads from its working directory
# (SUPERGRAPH_PATH, default supergraph.graphql).
COPY --from=build /app/dist ./dist
COPY supergraph.graphql ./

# Root owns the code; the services run as the image's unprivileged `node` user and write nothing
# here (with DATABASE_URL set, nothing goes to DATA_DIR; emails go to MAIL_DIR above).
USER node

ENV NODE_ENV=production \
    HOST=0.0.0.0

EXPOSE 4000 4001 4002 4003 4004

# The gateway's Node.js flags are config/services.ts's (a smaller young generation).
CMD ["node", "--max-semi-space-size=4", "dist/gateway/main.js"]
