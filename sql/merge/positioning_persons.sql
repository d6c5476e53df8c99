-- Merge staged persons (RYXX, a full snapshot of one mine's cards) into the history table
-- core.positioning_person: a change of job, team or any other field opens a new version; a card no
-- longer listed is closed. Names and birth dates stay in core (contract H).
SELECT core.apply_snapshots_scoped(
    'core.positioning_person'::regclass,
    'stage_positioning_persons',
    ARRAY['mine_code', 'card_code'],
    ARRAY['person_name', 'job', 'title', 'team', 'birth_date', 'education', 'is_leader', 'is_special'],
    ARRAY['mine_code']
);
