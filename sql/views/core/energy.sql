-- Energy per meter, and per area, by hour and by China-local day: one query each.
--
-- An interval's energy is shared among the hours it touches in proportion to the time it spends
-- in each; a gap_total interval (readings missing: only its total is known) is so spread evenly
-- over its whole span, and the share that comes from such spreading is shown apart (spread_kwh)
-- from the share measured interval by interval (measured_kwh). A reset interval's energy is not
-- known: it adds nothing, and its time is counted in unknown_s. Intervals are tied to the area the
-- registry version in force at their start names (core.meter_version).

CREATE OR REPLACE VIEW core.meter_interval_area AS
SELECT i.mine_code, i.meter_id, v.area_code, i.interval_start, i.interval_end, i.energy_kwh, i.quality,
       i.source, i.file_id, i.record_no
  FROM core.meter_interval i
  JOIN core.meter_version v
    ON v.mine_code = i.mine_code AND v.meter_id = i.meter_id
   AND i.interval_start >= v.effective_from AND i.interval_start < v.effective_to;
COMMENT ON VIEW core.meter_interval_area IS 'one row per meter interval with the area its meter fed at the time';

CREATE OR REPLACE VIEW core.meter_energy_hourly AS
WITH pieces AS (
    -- every interval cut at the (China-local) hour boundaries it crosses
    SELECT a.mine_code, a.meter_id, a.area_code, a.quality, a.energy_kwh, h.hour_start,
           extract(epoch FROM least(a.interval_end, h.hour_start + interval '1 hour')
                              - greatest(a.interval_start, h.hour_start)) AS seconds,
           extract(epoch FROM a.interval_end - a.interval_start) AS span_s
      FROM core.meter_interval_area a
     CROSS JOIN LATERAL generate_series(date_trunc('hour', a.interval_start, 'Asia/Shanghai'),
                                        a.interval_end - interval '1 microsecond',
                                        interval '1 hour') AS h (hour_start)
),
shares AS (
    -- each piece's share of its interval's energy
    SELECT p.*, p.energy_kwh * p.seconds / p.span_s AS share_kwh FROM pieces p
)
SELECT s.mine_code, s.meter_id, s.area_code, s.hour_start,
       (s.hour_start AT TIME ZONE 'Asia/Shanghai')::date AS day,
       sum(s.share_kwh) FILTER (WHERE s.quality <> 'reset') AS energy_kwh,
       coalesce(sum(s.share_kwh) FILTER (WHERE s.quality = 'measured'), 0) AS measured_kwh,
       coalesce(sum(s.share_kwh) FILTER (WHERE s.quality = 'gap_total'), 0) AS spread_kwh,
       coalesce(sum(s.seconds) FILTER (WHERE s.quality = 'reset'), 0) AS unknown_s,
       sum(s.seconds) AS covered_s
  FROM shares s
 GROUP BY s.mine_code, s.meter_id, s.area_code, s.hour_start;
COMMENT ON VIEW core.meter_energy_hourly IS
    'one row per meter, area and hour with intervals: energy_kwh = measured_kwh + spread_kwh (gap totals spread evenly); unknown_s: seconds under a reset; covered_s: seconds with any interval';

CREATE OR REPLACE VIEW core.area_energy_hourly AS
SELECT m.mine_code, m.area_code, m.hour_start, m.day,
       sum(m.energy_kwh) AS energy_kwh,
       sum(m.measured_kwh) AS measured_kwh,
       sum(m.spread_kwh) AS spread_kwh,
       sum(m.unknown_s) AS unknown_s,
       count(DISTINCT m.meter_id) AS meters
  FROM core.meter_energy_hourly m
 GROUP BY m.mine_code, m.area_code, m.hour_start, m.day;
COMMENT ON VIEW core.area_energy_hourly IS
    'one row per area and hour (hour_start; day = China-local date): kWh drawn through its meters, measured vs spread over gaps; unknown_s: meter-seconds under a reset';

CREATE OR REPLACE VIEW core.area_energy_daily AS
SELECT m.mine_code, m.area_code, m.day,
       (m.day::timestamp AT TIME ZONE 'Asia/Shanghai') AS day_start,
       sum(m.energy_kwh) AS energy_kwh,
       sum(m.measured_kwh) AS measured_kwh,
       sum(m.spread_kwh) AS spread_kwh,
       sum(m.unknown_s) AS unknown_s,
       count(DISTINCT m.meter_id) AS meters
  FROM core.meter_energy_hourly m
 GROUP BY m.mine_code, m.area_code, m.day;
COMMENT ON VIEW core.area_energy_daily IS
    'one row per area and China-local day: kWh drawn through its meters, measured vs spread over gaps; unknown_s: meter-seconds under a reset';
