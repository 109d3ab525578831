#!/bin/sh
# Run once by the primary's first start (docker-entrypoint-initdb.d; deploy/local-cluster runs
# it too): Ringround's role and database, the replication role, and replication connections.
set -eu
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres <<SQL
CREATE ROLE ringround LOGIN PASSWORD '${RINGROUND_DB_PASSWORD:-ringround}';
-- Ringround's commits wait until the synchronous standby has them (compose.yaml, primary).
ALTER ROLE ringround SET synchronous_commit = on;
CREATE DATABASE ringround OWNER ringround;
CREATE ROLE replicator REPLICATION LOGIN PASSWORD '${REPLICATION_PASSWORD:-replicator}';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
