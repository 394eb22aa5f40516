-- Runs once, on the first start of the postgres service (empty data volume),
-- from /docker-entrypoint-initdb.d as the POSTGRES_USER superuser ("rose").
-- One database per peer: each Rose Ash peer is its own ActivityPub server
-- with its own tables, so they never share rows or migrations.
-- To add a database to an existing volume, run these statements by hand:
--   docker compose exec postgres psql -U rose -d postgres -c 'CREATE DATABASE ...'
CREATE DATABASE blog OWNER rose;
CREATE DATABASE events OWNER rose;
CREATE DATABASE shop OWNER rose;
CREATE DATABASE account OWNER rose;
