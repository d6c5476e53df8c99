-- Video system (contract D): the cameras the platform lists, with their history, the camera events of
-- both dialects, and the camera states built from them in SQL at merge time (contract J).
--   core.video_camera  one row per camera per inventory version (D.1 cameras: a full snapshot per mine)
--   core.video_event   one row per mine and event id (D.1 events, D.2 CSV), the later delivery kept
--   core.camera_state  one row per camera, state and start: offline, video_lost, occluded, scene_changed
-- How states are built, and the views that read them (seal reconciliation, "was the camera at seal
-- M-07 watching at 02:00?"): sql/views/core/video.sql.

CREATE TABLE IF NOT EXISTS core.video_camera (
    mine_code    text        NOT NULL,
    camera_id    text        NOT NULL,
    camera_name  text,
    area_code    text,                   -- where the platform says the camera hangs
    seal_code    text,                   -- the seal the platform says it watches; NULL: none
    is_online    boolean,                -- the inventory's `online` at the pull; NULL: not sent
    preset       integer,                -- PTZ preset
    valid_from   timestamptz NOT NULL,   -- the pull that first listed these values
    valid_to     timestamptz,            -- the pull that changed them or no longer listed the camera; NULL while current
    file_id      bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no    integer     NOT NULL,
    PRIMARY KEY (mine_code, camera_id, valid_from),
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
COMMENT ON TABLE core.video_camera IS
    'one row per camera per inventory version (D.1 GET cameras, a full snapshot of one mine): a change of name, area, seal, online flag or preset opens a new version; a camera missing from a newer pull is closed';
CREATE UNIQUE INDEX IF NOT EXISTS video_camera_current_key ON core.video_camera (mine_code, camera_id) WHERE valid_to IS NULL;

CREATE TABLE IF NOT EXISTS core.video_event (
    mine_code    text        NOT NULL,
    event_id     text        NOT NULL,
    camera_id    text        NOT NULL,
    event_type   text        NOT NULL CHECK (event_type IN
                     ('ONLINE', 'OFFLINE', 'VIDEO_LOSS', 'OCCLUSION', 'SCENE_CHANGE', 'PRESET_CHANGE', 'RELOCATED')),
    event_at     timestamptz NOT NULL,
    area_code    text,                   -- D.2 only; REST events take it from the inventory
    seal_code    text,
    source_kind  text        NOT NULL CHECK (source_kind IN ('CSV', 'REST')),
    file_id      bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no    integer     NOT NULL,
    PRIMARY KEY (mine_code, event_id)
);
COMMENT ON TABLE core.video_event IS
    'one row per mine and video event id (D.1, D.2), as last delivered: an event seen twice is stored once';
CREATE INDEX IF NOT EXISTS video_event_camera_time ON core.video_event (mine_code, camera_id, event_at);

CREATE TABLE IF NOT EXISTS core.camera_state (
    mine_code          text        NOT NULL,
    camera_id          text        NOT NULL,
    state              text        NOT NULL CHECK (state IN ('offline', 'video_lost', 'occluded', 'scene_changed')),
    started_at         timestamptz NOT NULL,
    ended_at           timestamptz,            -- NULL while it goes on
    opened_by          text        NOT NULL CHECK (opened_by IN ('event', 'inventory')),
    opening_event_id   text,                   -- NULL when an inventory pull listed the camera offline
    closed_by          text        CHECK (closed_by IN ('event', 'inventory')),
    closing_event_id   text,                   -- the ONLINE event that ended it; NULL while open or ended by a pull
    repeats            integer     NOT NULL DEFAULT 0,  -- further events (or pulls) of the same state while it was open
    file_id            bigint      NOT NULL REFERENCES ledger.file (file_id),  -- the event or inventory row that opened it
    record_no          integer     NOT NULL,
    closing_file_id    bigint      REFERENCES ledger.file (file_id),
    closing_record_no  integer,
    PRIMARY KEY (mine_code, camera_id, state, started_at),
    CHECK (ended_at IS NULL OR ended_at > started_at),
    CHECK ((ended_at IS NULL) = (closed_by IS NULL))
);
COMMENT ON TABLE core.camera_state IS
    'one row per camera, state and start: a time the camera was offline, lost its video, was occluded or saw another scene; built from the events (ONLINE ends them all) and the inventory''s online flag, rebuilt whenever an event arrives, late or not';
CREATE INDEX IF NOT EXISTS camera_state_open ON core.camera_state (mine_code, camera_id) WHERE ended_at IS NULL;
