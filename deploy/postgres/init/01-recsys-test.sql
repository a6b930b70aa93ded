-- Run once by the postgres image on an empty volume (docker-compose.yml):
-- the test database next to `recsys`, like scripts/services.sh creates.
CREATE DATABASE recsys_test OWNER recsys;
