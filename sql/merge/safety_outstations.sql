-- Merge staged outstations (FZDY, a full snapshot of one mine's outstations) into the history
-- table core.safety_outstation: changed outstations get a new version, those no longer listed are closed.
SELECT core.apply_snapshots_scoped(
    'core.safety_outstation'::regclass,
    'stage_safety_outstations',
    ARRAY['mine_code', 'outstation_code'],
    ARRAY['location', 'x', 'y', 'z', 'defined_at'],
    ARRAY['mine_code']
);
