-- Access (contract H), re-applied after the views so new objects are covered.
GRANT SELECT ON ALL TABLES IN SCHEMA mart TO minewatch_bi, minewatch_loader;
GRANT ALL ON ALL TABLES IN SCHEMA meta, ledger, quarantine, core, mart TO minewatch_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ledger, quarantine, core TO minewatch_loader;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ledger, quarantine, core TO minewatch_loader;
REVOKE ALL ON SCHEMA ledger, quarantine, core, meta FROM minewatch_bi;
