-- Merge the CSV dialect's area evidence (a point, its area and sensor type as one CSV file gave
-- them) into core.safety_point_area; a re-sent file's rows replace the earlier delivery's.
SELECT core.upsert_latest_delivery(
    'core.safety_point_area'::regclass,
    'stage_safety_point_areas'::regclass,
    ARRAY['mine_code', 'point_code', 'first_sampled_at'],
    ARRAY['area_code', 'sensor_type', 'last_sampled_at']
);
