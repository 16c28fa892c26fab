#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d): the role and the
# database mcp-mt connects with. Not a superuser: CREATEDB for the database-per-tenant strategy, CREATEROLE
# for the migrations (they create the NOLOGIN role mcp_mt_tenant that row-level security applies to).
set -eu
: "${MCP_APP_DB_PASSWORD:?set MCP_APP_DB_PASSWORD in postgres.env}"
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" --set=pw="$MCP_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE mcp_mt LOGIN CREATEDB CREATEROLE PASSWORD :'pw';
CREATE DATABASE mcp_mt OWNER mcp_mt;
SQL
