-- Video system (contract D, F.2, J): camera states built from events, the cameras the platform
-- knows, the registry's seals reconciled with them, and "was the camera at seal M-07 watching at 02:00?".
-- Tables: sql/migrations/0050_create_video.sql. Decisions: docs/decisions.md, "Video".
--
-- Rules for core.camera_state (core.rebuild_camera_states):
-- - Each state has its own opening signal: OFFLINE -> offline, VIDEO_LOSS -> video_lost,
--   OCCLUSION -> occluded, SCENE_CHANGE -> scene_changed. An ONLINE event ends every open state.
-- - The inventory's `online` flag is the platform's own word at the pull: a pull that lists the
--   camera offline (online = false) opens `offline` if it is not open already (opened_by
--   'inventory'); a pull that lists it online ends an open `offline` (closed_by 'inventory'), and
--   nothing else (a camera that answers may still show no picture). A pull counts where the listed
--   values change (a version of core.video_camera starts). A camera dropped from the inventory
--   ends nothing: the seal reconciliation says it is no longer on the platform.
-- - Signals are taken in time order; at the same instant the ending ones go first, so a state that
--   ends and starts again at one instant stays open. A second opening signal while the state is
--   open does not open another interval (it counts in `repeats`). An opening with no ending yet is
--   an open interval (ended_at NULL).
-- - PRESET_CHANGE and RELOCATED are instants, not states: core.camera_tamper lists them beside the
--   occluded and scene_changed intervals.
-- - Everything is rebuilt per camera from all its events, so an ONLINE delivered before the OFFLINE
--   it ends, or a late file, gives the same intervals as in-order delivery.

CREATE OR REPLACE FUNCTION core.rebuild_camera_states(mines text[], cameras text[]) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    written integer;
BEGIN
    -- one rebuild at a time: a concurrent load of the same camera waits and then sees this one's events
    PERFORM pg_advisory_xact_lock(hashtext('core.camera_state'));
    DROP TABLE IF EXISTS pg_temp.camera_rebuilt;
    CREATE TEMP TABLE camera_rebuilt ON COMMIT DROP AS
    SELECT DISTINCT c.mine_code, c.camera_id
      FROM unnest(mines, cameras) AS c (mine_code, camera_id)
     WHERE c.mine_code IS NOT NULL AND c.camera_id IS NOT NULL;

    DELETE FROM core.camera_state s
     USING camera_rebuilt c
     WHERE s.mine_code = c.mine_code AND s.camera_id = c.camera_id;

    INSERT INTO core.camera_state (mine_code, camera_id, state, started_at, ended_at, opened_by, opening_event_id,
                                   closed_by, closing_event_id, repeats, file_id, record_no, closing_file_id,
                                   closing_record_no)
    WITH signals AS (
        -- camera events: ONLINE ends every state, each other state event opens its own state
        SELECT e.mine_code, e.camera_id, e.event_at AS at, 'event'::text AS source, e.event_id,
               CASE e.event_type WHEN 'OFFLINE' THEN 'offline' WHEN 'VIDEO_LOSS' THEN 'video_lost'
                                 WHEN 'OCCLUSION' THEN 'occluded' WHEN 'SCENE_CHANGE' THEN 'scene_changed' END AS opens,
               e.event_type = 'ONLINE' AS ends_all, false AS ends_offline, e.file_id, e.record_no
          FROM core.video_event e
          JOIN camera_rebuilt c ON c.mine_code = e.mine_code AND c.camera_id = e.camera_id
         WHERE e.event_type IN ('ONLINE', 'OFFLINE', 'VIDEO_LOSS', 'OCCLUSION', 'SCENE_CHANGE')
        UNION ALL
        -- inventory pulls where the listed values change: listed offline opens `offline`, listed online ends it
        SELECT v.mine_code, v.camera_id, v.valid_from, 'inventory', NULL,
               CASE WHEN NOT v.is_online THEN 'offline' END, false, v.is_online, v.file_id, v.record_no
          FROM core.video_camera v
          JOIN camera_rebuilt c ON c.mine_code = v.mine_code AND c.camera_id = v.camera_id
         WHERE v.is_online IS NOT NULL
    ),
    per_state AS (
        -- each state sees its own opening signals and the signals that end it
        SELECT st.state, s.*, s.opens IS NULL AS is_end
          FROM signals s
         CROSS JOIN (VALUES ('offline'), ('video_lost'), ('occluded'), ('scene_changed')) AS st (state)
         WHERE s.opens = st.state OR s.ends_all OR (s.ends_offline AND st.state = 'offline')
    ),
    islands AS (
        -- in time order (ends first at one instant), the n-th end starts island n: the openings after it
        SELECT p.*,
               count(*) FILTER (WHERE p.is_end) OVER (
                   PARTITION BY p.mine_code, p.camera_id, p.state
                   ORDER BY p.at, p.is_end DESC, p.source, p.event_id, p.file_id, p.record_no
                   ROWS UNBOUNDED PRECEDING) AS island
          FROM per_state p
    ),
    openings AS (
        -- the first opening of each island opens the state; the others are repeats
        SELECT DISTINCT ON (i.mine_code, i.camera_id, i.state, i.island)
               i.*, count(*) OVER (PARTITION BY i.mine_code, i.camera_id, i.state, i.island) - 1 AS repeats
          FROM islands i
         WHERE NOT i.is_end
         ORDER BY i.mine_code, i.camera_id, i.state, i.island, i.at, i.source, i.event_id, i.file_id, i.record_no
    )
    -- the end that starts the next island closes it
    SELECT o.mine_code, o.camera_id, o.state, o.at, e.at, o.source, o.event_id, e.source, e.event_id,
           o.repeats, o.file_id, o.record_no, e.file_id, e.record_no
      FROM openings o
      LEFT JOIN islands e
        ON e.mine_code = o.mine_code AND e.camera_id = o.camera_id AND e.state = o.state
       AND e.is_end AND e.island = o.island + 1;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$fn$;
COMMENT ON FUNCTION core.rebuild_camera_states(text[], text[]) IS
    'rebuild core.camera_state of the given cameras (mine, camera pairs) from all their events and inventory versions; returns the intervals written';


-- The one threshold of the video rules: an offline or video-lost spell shorter than this is a reboot or
-- a network blip, not a monitoring gap (CAMERA_OFFLINE, SEAL_UNWATCHED). Occlusion, scene change,
-- preset change and relocation count at any length.
CREATE OR REPLACE FUNCTION core.camera_outage_limit() RETURNS interval
LANGUAGE sql IMMUTABLE AS $fn$ SELECT interval '15 minutes' $fn$;
COMMENT ON FUNCTION core.camera_outage_limit() IS
    'shortest offline or video_lost spell that the detection rules count as a monitoring gap';


CREATE OR REPLACE VIEW core.seal_version AS
SELECT s.mine_code, s.seal_code, s.area_code, s.camera_id, s.valid_from, s.valid_to,
       -- the registry came later than the cameras: its first version of a seal holds before it too
       CASE WHEN lag(s.valid_from) OVER w IS NULL THEN '-infinity'::timestamptz ELSE s.valid_from END AS effective_from,
       coalesce(s.valid_to, 'infinity'::timestamptz) AS effective_to,
       s.file_id, s.record_no
  FROM core.seal s
WINDOW w AS (PARTITION BY s.mine_code, s.seal_code ORDER BY s.valid_from);
COMMENT ON VIEW core.seal_version IS
    'one row per registry seal version with the time it holds: the first from -infinity, the current one to infinity';


CREATE OR REPLACE VIEW core.camera_version AS
SELECT v.mine_code, v.camera_id, v.camera_name, v.area_code, v.seal_code, v.is_online, v.preset,
       v.valid_from, v.valid_to,
       -- a camera listed by the mine's first pull was there before it too
       CASE WHEN v.valid_from = min(v.valid_from) OVER (PARTITION BY v.mine_code) THEN '-infinity'::timestamptz
            ELSE v.valid_from END AS effective_from,
       coalesce(v.valid_to, 'infinity'::timestamptz) AS effective_to,
       v.file_id, v.record_no
  FROM core.video_camera v;
COMMENT ON VIEW core.camera_version IS
    'one row per camera inventory version with the time it holds: versions of the mine''s first pull from -infinity, the current one to infinity';


CREATE OR REPLACE VIEW core.video_camera_current AS
SELECT mine_code, camera_id, camera_name, area_code, seal_code, is_online, preset, valid_from, file_id, record_no
  FROM core.video_camera WHERE valid_to IS NULL;
COMMENT ON VIEW core.video_camera_current IS 'one row per camera the latest inventory pull of its mine lists';


CREATE OR REPLACE VIEW core.platform_camera AS
WITH inventory_mines AS (
    -- mines whose platform sends an inventory (D.1): what it lists now is what it knows
    SELECT DISTINCT v.mine_code FROM core.video_camera v
),
from_events AS (
    -- mines that send events only (D.2): every camera seen in an event, with its latest area and seal
    SELECT DISTINCT ON (e.mine_code, e.camera_id)
           e.mine_code, e.camera_id, e.area_code, e.seal_code, e.event_at AS last_event_at
      FROM core.video_event e
     WHERE e.mine_code NOT IN (SELECT mine_code FROM inventory_mines)
     ORDER BY e.mine_code, e.camera_id, e.event_at DESC, e.event_id DESC
)
SELECT c.mine_code, c.camera_id, c.camera_name, c.area_code, c.seal_code, c.is_online, c.preset,
       'inventory'::text AS known_from, c.file_id, c.record_no
  FROM core.video_camera_current c
UNION ALL
SELECT e.mine_code, e.camera_id, NULL, e.area_code, e.seal_code, NULL, NULL, 'events', NULL, NULL
  FROM from_events e;
COMMENT ON VIEW core.platform_camera IS
    'one row per camera the video platform knows now: listed by the latest inventory pull of its mine, or, for mines that send events only, seen in any event (area and seal of its latest event)';


CREATE OR REPLACE VIEW core.camera_reported AS
SELECT r.mine_code, r.camera_id, min(r.first_at) AS first_reported_at, max(r.last_at) AS last_reported_at,
       max(r.last_event_at) AS last_event_at
  FROM (SELECT v.mine_code, v.camera_id, min(v.valid_from) AS first_at, max(v.valid_from) AS last_at,
               NULL::timestamptz AS last_event_at
          FROM core.video_camera v GROUP BY v.mine_code, v.camera_id
        UNION ALL
        SELECT e.mine_code, e.camera_id, min(e.event_at), max(e.event_at), max(e.event_at)
          FROM core.video_event e GROUP BY e.mine_code, e.camera_id) r
 GROUP BY r.mine_code, r.camera_id;
COMMENT ON VIEW core.camera_reported IS
    'one row per camera the platform ever mentioned (an inventory row or an event), with the first and last time it did';


CREATE OR REPLACE FUNCTION core.camera_area_at(mine text, camera text, at timestamptz) RETURNS text
LANGUAGE sql STABLE AS $fn$
    -- the area the inventory gave the camera then: its latest version begun by then, else its first
    SELECT v.area_code FROM core.video_camera v
     WHERE v.mine_code = mine AND v.camera_id = camera
     ORDER BY v.valid_from <= at DESC, CASE WHEN v.valid_from <= at THEN v.valid_from END DESC, v.valid_from
     LIMIT 1
$fn$;
COMMENT ON FUNCTION core.camera_area_at(text, text, timestamptz) IS
    'the area the camera inventory gave a camera at a time (its latest version begun by then, else its first); NULL: never listed';


CREATE OR REPLACE FUNCTION core.camera_seals_at(mine text, camera text, at timestamptz) RETURNS text[]
LANGUAGE sql STABLE AS $fn$
    -- the seals whose registry version in force then names the camera (a seal's first version holds before it too)
    SELECT array_agg(r.seal_code ORDER BY r.seal_code) FROM core.seal r
     WHERE r.mine_code = mine AND r.camera_id = camera
       AND coalesce(r.valid_to, 'infinity'::timestamptz) > at
       AND (r.valid_from <= at OR NOT EXISTS (SELECT 1 FROM core.seal e
                                               WHERE e.mine_code = r.mine_code AND e.seal_code = r.seal_code
                                                 AND e.valid_from < r.valid_from))
$fn$;
COMMENT ON FUNCTION core.camera_seals_at(text, text, timestamptz) IS
    'the registry seals a camera had to watch at a time; NULL: none';


CREATE OR REPLACE VIEW core.camera_state_place AS
SELECT s.mine_code, s.camera_id, s.state, s.started_at, s.ended_at,
       coalesce(s.ended_at, now()) - s.started_at AS lasted,
       -- where the camera hangs: the opening event's word (D.2), else the inventory's then
       coalesce(oe.area_code, cv.area_code) AS area_code,
       sv.seal_codes,
       s.opened_by, s.opening_event_id, s.closed_by, s.closing_event_id, s.repeats,
       s.file_id, s.record_no, s.closing_file_id, s.closing_record_no
  FROM core.camera_state s
  LEFT JOIN core.video_event oe ON oe.mine_code = s.mine_code AND oe.event_id = s.opening_event_id
  LEFT JOIN LATERAL core.camera_area_at(s.mine_code, s.camera_id, s.started_at) cv (area_code) ON true
  LEFT JOIN LATERAL core.camera_seals_at(s.mine_code, s.camera_id, s.started_at) sv (seal_codes) ON true;
COMMENT ON VIEW core.camera_state_place IS
    'one row per camera state interval with how long it lasted (so far), the camera''s area and the registry seals it had to watch when the state began';


CREATE OR REPLACE VIEW core.camera_tamper AS
SELECT s.mine_code, s.camera_id, s.state AS tamper, s.started_at, s.ended_at, s.area_code, s.seal_codes,
       s.opening_event_id AS event_id, s.file_id, s.record_no
  FROM core.camera_state_place s
 WHERE s.state IN ('occluded', 'scene_changed')
UNION ALL
SELECT e.mine_code, e.camera_id, CASE e.event_type WHEN 'PRESET_CHANGE' THEN 'preset_changed' ELSE 'relocated' END,
       e.event_at, e.event_at, coalesce(e.area_code, cv.area_code), sv.seal_codes, e.event_id, e.file_id, e.record_no
  FROM core.video_event e
  LEFT JOIN LATERAL core.camera_area_at(e.mine_code, e.camera_id, e.event_at) cv (area_code) ON true
  LEFT JOIN LATERAL core.camera_seals_at(e.mine_code, e.camera_id, e.event_at) sv (seal_codes) ON true
 WHERE e.event_type IN ('PRESET_CHANGE', 'RELOCATED');
COMMENT ON VIEW core.camera_tamper IS
    'one row per tampering of a camera: an occluded or scene_changed interval (ended_at NULL while it goes on), or a preset change or relocation event (an instant: ended_at = started_at); with the camera''s area and the registry seals it had to watch then';


CREATE OR REPLACE VIEW core.seal_camera AS
WITH open_states AS (
    -- what keeps each camera from watching now
    SELECT s.mine_code, s.camera_id, array_agg(s.state ORDER BY s.state) AS states, min(s.started_at) AS since
      FROM core.camera_state s WHERE s.ended_at IS NULL
     GROUP BY s.mine_code, s.camera_id
),
inventory_mines AS (
    -- mines whose platform sends an inventory: what its latest pull lists is what it knows
    SELECT DISTINCT v.mine_code FROM core.video_camera v
),
claims AS (
    -- the cameras the platform ties to each seal code
    SELECT p.mine_code, p.seal_code, array_agg(p.camera_id ORDER BY p.camera_id) AS cameras
      FROM core.platform_camera p WHERE p.seal_code IS NOT NULL
     GROUP BY p.mine_code, p.seal_code
),
registry_seals AS (
    -- every seal of the current registry, with the platform's word on its camera
    SELECT s.mine_code, s.seal_code, s.area_code, s.camera_id,
           s.camera_id AS registry_camera_id,
           p.camera_id IS NOT NULL AS is_on_platform,
           r.camera_id IS NOT NULL AS has_reported,
           p.seal_code AS platform_seal_code,
           coalesce(p.seal_code = s.seal_code, false) AS is_platform_watching_seal,
           cl.cameras AS platform_cameras_on_seal,
           os.states AS current_states, os.since AS current_states_since,
           r.last_reported_at, r.last_event_at,
           CASE WHEN s.camera_id IS NULL THEN 'no_camera_in_registry'
                WHEN p.camera_id IS NULL AND im.mine_code IS NOT NULL THEN 'camera_not_on_platform'
                WHEN p.camera_id IS NULL THEN 'camera_never_reported'
                WHEN p.seal_code IS NULL THEN 'platform_names_no_seal'
                WHEN p.seal_code <> s.seal_code THEN 'camera_on_other_seal'
                ELSE 'watched' END AS status,
           s.file_id, s.record_no
      FROM core.seal s
      LEFT JOIN core.platform_camera p ON p.mine_code = s.mine_code AND p.camera_id = s.camera_id
      LEFT JOIN core.camera_reported r ON r.mine_code = s.mine_code AND r.camera_id = s.camera_id
      LEFT JOIN claims cl ON cl.mine_code = s.mine_code AND cl.seal_code = s.seal_code
      LEFT JOIN open_states os ON os.mine_code = s.mine_code AND os.camera_id = s.camera_id
      LEFT JOIN inventory_mines im ON im.mine_code = s.mine_code
     WHERE s.valid_to IS NULL
),
unknown_seals AS (
    -- cameras the platform ties to a seal code the current registry does not list
    SELECT p.mine_code, p.seal_code, NULL::text AS area_code, p.camera_id,
           NULL::text AS registry_camera_id, true AS is_on_platform, true AS has_reported,
           p.seal_code AS platform_seal_code, true AS is_platform_watching_seal,
           cl.cameras AS platform_cameras_on_seal,
           os.states AS current_states, os.since AS current_states_since,
           r.last_reported_at, r.last_event_at,
           'seal_not_in_registry'::text AS status,
           NULL::bigint AS file_id, NULL::integer AS record_no
      FROM core.platform_camera p
      JOIN claims cl ON cl.mine_code = p.mine_code AND cl.seal_code = p.seal_code
      LEFT JOIN core.camera_reported r ON r.mine_code = p.mine_code AND r.camera_id = p.camera_id
      LEFT JOIN open_states os ON os.mine_code = p.mine_code AND os.camera_id = p.camera_id
     WHERE p.seal_code IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM core.seal s
                        WHERE s.mine_code = p.mine_code AND s.seal_code = p.seal_code AND s.valid_to IS NULL)
)
SELECT * FROM registry_seals
UNION ALL
SELECT * FROM unknown_seals;
COMMENT ON VIEW core.seal_camera IS
    'one row per seal of the current registry, and one per camera the platform ties to a seal the registry does not list: is the registry''s camera on the platform (the latest inventory; for mines that send events only, any event), did it ever report, does the platform tie it to this seal, what keeps it from watching now; status no_camera_in_registry, camera_not_on_platform (the latest inventory does not list it), camera_never_reported (a mine without inventory: in no event), platform_names_no_seal, camera_on_other_seal, watched or seal_not_in_registry';
COMMENT ON COLUMN core.seal_camera.camera_id IS
    'the camera of the row: the registry''s for a registry seal, the platform''s for seal_not_in_registry';


CREATE OR REPLACE FUNCTION core.seal_watch(mine text, seal text, at timestamptz)
RETURNS TABLE (mine_code text, seal_code text, area_code text, camera_id text, is_watching boolean,
               condition text, states text[], state_since timestamptz, platform_seal_code text)
LANGUAGE sql STABLE AS $fn$
    -- Was the camera at this seal watching at that time?
    --   SELECT * FROM core.seal_watch('410403004688', 'M-07', '2026-03-18 02:00+08');
    -- The camera is the one the registry named for the seal then (the first registry version also
    -- holds before it). It was watching when the platform knew it then (listed by the inventory pull
    -- in force, the mine's first pull counting for the time before it; for mines that send events
    -- only: it reported at least once) and it was in no offline, video_lost, occluded or
    -- scene_changed state. is_watching is NULL (unknown) for a camera of a mine without inventory
    -- that never sent an event. No row: the registry did not list the seal then.
    WITH seal_then AS (
        SELECT s.mine_code, s.seal_code, s.area_code, s.camera_id
          FROM core.seal_version s
         WHERE s.mine_code = mine AND s.seal_code = seal AND at >= s.effective_from AND at < s.effective_to
    ),
    listed AS (
        -- the inventory version in force then, and whether the mine has an inventory at all
        SELECT st.mine_code, st.seal_code,
               EXISTS (SELECT 1 FROM core.video_camera v WHERE v.mine_code = st.mine_code) AS has_inventory,
               (SELECT v.seal_code FROM core.camera_version v
                 WHERE v.mine_code = st.mine_code AND v.camera_id = st.camera_id
                   AND at >= v.effective_from AND at < v.effective_to) AS platform_seal_code,
               EXISTS (SELECT 1 FROM core.camera_version v
                        WHERE v.mine_code = st.mine_code AND v.camera_id = st.camera_id
                          AND at >= v.effective_from AND at < v.effective_to) AS is_listed,
               EXISTS (SELECT 1 FROM core.camera_reported r
                        WHERE r.mine_code = st.mine_code AND r.camera_id = st.camera_id) AS has_reported
          FROM seal_then st
    ),
    states_then AS (
        SELECT st.mine_code, st.seal_code, array_agg(c.state ORDER BY c.state) AS states, min(c.started_at) AS since
          FROM seal_then st
          JOIN core.camera_state c ON c.mine_code = st.mine_code AND c.camera_id = st.camera_id
         WHERE c.started_at <= at AND (c.ended_at IS NULL OR c.ended_at > at)
         GROUP BY st.mine_code, st.seal_code
    ),
    judged AS (
        SELECT st.mine_code, st.seal_code, st.area_code, st.camera_id,
               CASE WHEN st.camera_id IS NULL THEN 'no_camera_in_registry'
                    WHEN l.has_inventory AND NOT l.is_listed THEN 'camera_not_on_platform'
                    WHEN NOT l.has_inventory AND NOT l.has_reported THEN 'camera_never_reported'
                    WHEN sn.states IS NOT NULL THEN array_to_string(sn.states, ',')
                    ELSE 'watching' END AS condition,
               sn.states, sn.since, l.platform_seal_code
          FROM seal_then st
          JOIN listed l ON l.mine_code = st.mine_code AND l.seal_code = st.seal_code
          LEFT JOIN states_then sn ON sn.mine_code = st.mine_code AND sn.seal_code = st.seal_code
    )
    SELECT j.mine_code, j.seal_code, j.area_code, j.camera_id,
           CASE WHEN j.condition <> 'camera_never_reported' THEN j.condition = 'watching' END, j.condition,
           coalesce(j.states, '{}'::text[]), j.since, j.platform_seal_code
      FROM judged j
$fn$;
COMMENT ON FUNCTION core.seal_watch(text, text, timestamptz) IS
    'was the registry''s camera at this seal watching at that time? condition: watching, no_camera_in_registry, camera_not_on_platform, camera_never_reported (is_watching NULL: unknown), or the camera''s states then (offline, video_lost, occluded, scene_changed, comma-joined)';
