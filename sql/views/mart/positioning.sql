-- Personnel positioning for BI tools (contract G, H): presence per card and area, shaft stays per
-- card, and base-station state intervals. Card codes are shown; person names and birth dates are
-- not (they stay in core, which minewatch_bi cannot read).

CREATE OR REPLACE VIEW mart.card_presence AS
SELECT p.mine_code,
       p.card_code,
       p.area_code,
       a.area_name,
       r.kind AS registry_area_kind,
       p.entered_at,
       p.last_seen_at,
       p.last_read_at,
       p.left_at,
       p.end_reason,
       p.observations,
       p.reads
  FROM core.positioning_presence p
  LEFT JOIN core.positioning_area_current a ON a.mine_code = p.mine_code AND a.area_code = p.area_code
  LEFT JOIN core.area_current r ON r.mine_code = p.mine_code AND r.area_code = p.area_code;
COMMENT ON VIEW mart.card_presence IS
    'one row per card per unbroken presence in one area: entered_at (first observation there), last_read_at, left_at (NULL while present) and why it ended (area_change, out_of_mine, stopped_appearing, no_reads); no personal data';

CREATE OR REPLACE VIEW mart.card_shaft_stay AS
SELECT s.mine_code,
       s.card_code,
       s.entered_at,
       s.first_underground_at,
       s.last_underground_at,
       s.last_seen_at,
       s.last_area_code,
       s.last_read_at,
       s.left_at,
       s.end_reason,
       s.observations,
       s.reads,
       s.longest_unread_s,
       s.unread_since
  FROM core.positioning_shaft_stay s;
COMMENT ON VIEW mart.card_shaft_stay IS
    'one row per card per stay in or at the mine: from the first observation until out of the mine (flag 2), absent from a snapshot, or no REST read for long; the longest time unread underground; no personal data';

CREATE OR REPLACE VIEW mart.positioning_station_state AS
SELECT i.mine_code,
       i.station_code,
       i.area_code,
       st.station_name,
       i.started_at,
       i.last_report_at,
       i.ended_at,
       i.run_state,
       i.power_state,
       i.reports
  FROM core.positioning_station_interval i
  LEFT JOIN core.positioning_station_current st ON st.mine_code = i.mine_code AND st.station_code = i.station_code;
COMMENT ON VIEW mart.positioning_station_state IS
    'one row per base station per run of the same run and power state (JZSS): communicating, interrupted, fault or unknown; ended_at NULL while current';
