-- The warehouse's layers and the three roles of contract section H.
--   ledger      what was received: one row per landing file, and the archive address of its bytes
--   quarantine  what was held back, with a reason, until released or discarded
--   core        normalized, typed, timezone-aware facts with their history
--   mart        the stable interface for BI tools and alert readers (contract G)
-- Roles are cluster-wide and NOLOGIN: an operator grants them to real login users.
--   minewatch_owner   owns and may change everything
--   minewatch_loader  the pipeline: reads and writes ledger, quarantine, core
--   minewatch_bi      reads schema mart only (no personal data is exposed there)

CREATE SCHEMA IF NOT EXISTS ledger;
CREATE SCHEMA IF NOT EXISTS quarantine;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS mart;

DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['minewatch_owner', 'minewatch_loader', 'minewatch_bi'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database of the same cluster created it at the same moment
            END;
        END IF;
    END LOOP;
END
$roles$;

GRANT USAGE, CREATE ON SCHEMA meta, ledger, quarantine, core, mart TO minewatch_owner;
GRANT USAGE ON SCHEMA meta, ledger, quarantine, core, mart TO minewatch_loader;
GRANT USAGE ON SCHEMA mart TO minewatch_bi;

ALTER DEFAULT PRIVILEGES IN SCHEMA ledger, quarantine, core
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO minewatch_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA ledger, quarantine, core
    GRANT USAGE, SELECT ON SEQUENCES TO minewatch_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA meta, ledger, quarantine, core, mart
    GRANT ALL ON TABLES TO minewatch_owner;
ALTER DEFAULT PRIVILEGES IN SCHEMA mart
    GRANT SELECT ON TABLES TO minewatch_bi, minewatch_loader;
