-- Runs once, when the postgres container initialises an empty data volume
-- (docker-entrypoint-initdb.d), in the POSTGRES_DB database (authserver).
-- Each service owns its own database: both use goose, and two services
-- migrating one schema would share goose's version table.
CREATE DATABASE resourceserver;
