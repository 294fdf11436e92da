-- Run once by the postgres image, on the first start of an empty data volume
-- (files in /docker-entrypoint-initdb.d run in name order, as POSTGRES_USER).
-- One database per service of the platform (the three subgraphs, the notification service and
-- the gateway's sign-in store),
-- so no service reads another's tables, plus Authentik's own.
-- deploy/docker-compose.test.ts checks that every service's database is created here.
-- A data volume initialised before a database was added here lacks it; create it by hand, e.g.
-- `docker compose exec postgres createdb --username=postgres notifications`.

CREATE DATABASE users;
CREATE DATABASE interviews;
CREATE DATABASE reporting;
CREATE DATABASE notifications;
CREATE DATABASE gateway;

CREATE DATABASE authentik;
