# The Interview Graph application image: one image for the three subgraphs, the notification
# service and the gateway; docker-compose.yml picks the entry point per service
# (`node --import tsx <entry>`, as `npm start` runs them). tsx runs the TypeScript as it is, so
# there is no build step, and `npm ci` installs the devDependencies too (tsx is one of them).
FROM node:20-bookworm-slim

WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force

# The notification service's MAIL_DIR in docker-compose.yml (.eml files while SMTP_URL is
# unset): a new named volume takes the owner of the folder it is mounted on, so it must exist
# here, owned by the user the services run as.
RUN mkdir -p /var/lib/interview-graph/mail && chown -R node:node /var/lib/interview-graph

COPY . .

# Root owns the code; the services run as the image's unprivileged `node` user and write nothing
# here (with DATABASE_URL set, nothing goes to DATA_DIR; emails go to MAIL_DIR above).
USER node

ENV NODE_ENV=production \
    HOST=0.0.0.0

EXPOSE 4000 4001 4002 4003 4004

CMD ["node", "--import", "tsx", "gateway/main.ts"]
