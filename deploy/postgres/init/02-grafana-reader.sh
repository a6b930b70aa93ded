#!/bin/sh
# Run once by the postgres image on an empty volume (docker-compose.yml): the role Grafana's
# PostgreSQL data source reads as (deploy/grafana/provisioning/datasources/postgres.yml). It may
# only SELECT, so a dashboard query can never change the app's tables.
set -e
psql -v ON_ERROR_STOP=1 -v db="$POSTGRES_DB" -v owner="$POSTGRES_USER" -v pw="${GRAFANA_PG_PASSWORD:-grafana}" \
  --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE grafana LOGIN PASSWORD :'pw';
GRANT CONNECT ON DATABASE :"db" TO grafana;
GRANT USAGE ON SCHEMA public TO grafana;
-- The app's tables do not exist yet: its migrations create them later, as the owner role.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT ON TABLES TO grafana;
SQL
