-- Merge staged outstation reports (FZSS) into core.safety_outstation_state: one row per outstation
-- and report time, the latest delivery of the same report wins (contract J).
SELECT core.upsert_latest_delivery(
    'core.safety_outstation_state'::regclass,
    'stage_safety_outstation_states'::regclass,
    ARRAY['mine_code', 'outstation_code', 'observed_at'],
    ARRAY['run_status', 'power_status']
);
