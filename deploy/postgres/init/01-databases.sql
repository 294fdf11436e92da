-- Run once by the postgres image, on the first start of an empty data volume
-- (files in /docker-entrypoint-initdb.d run in name order, as POSTGRES_USER).
-- One database per service, so no service reads another's tables, plus Authentik's own.
-- deploy/docker-compose.test.ts checks that every service's database is created here.

CREATE DATABASE users;
CREATE DATABASE interviews;
CREATE DATABASE reporting;

CREATE DATABASE authentik;
