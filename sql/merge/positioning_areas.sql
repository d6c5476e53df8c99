-- Merge staged areas (RYQY, a full snapshot of one mine's positioning areas) into the history table
-- core.positioning_area: a changed area (type, rated persons, name) closes its version and opens a
-- new one; an area no longer listed is closed; a late, older snapshot changes nothing.
SELECT core.apply_snapshots_scoped(
    'core.positioning_area'::regclass,
    'stage_positioning_areas',
    ARRAY['mine_code', 'area_code'],
    ARRAY['area_type', 'area_type_text', 'rated_persons', 'area_name'],
    ARRAY['mine_code']
);
