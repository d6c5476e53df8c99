"""Pull the vendor APIs (contract C.2 positions, D.1 cameras and events) through the one load path.

Each answer is treated as a delivery like a landing file: its bytes are archived under their
sha256 and entered in the ledger (the request URL stands for the path, a name such as
`410403366300_positions_20260318080000_p3.json` says how to read it), then parsed, validated,
staged and merged by `LoadPath`. For the paged endpoints, the page's rows and the advanced
watermark (`ledger.api_watermark`) commit in one transaction, page by page: a pull that dies
after page 2 has pages 1 and 2 in the warehouse and resumes from their watermark; `since` is
inclusive and the merges de-duplicate by natural key, so nothing is lost or stored twice.

Where the APIs are (nothing is in code):

- `MINEWATCH_POSITIONING_API_URL`, `MINEWATCH_VIDEO_API_URL`: base URL of the vendor platform;
  unset = that API is not pulled;
- `MINEWATCH_POSITIONING_TOKEN`, `MINEWATCH_VIDEO_TOKEN`: the bearer token (else, inside an
  Airflow task, the connection below);
- `MINEWATCH_POSITIONING_API_MINES`, `MINEWATCH_VIDEO_API_MINES`: the mine codes the platform
  serves, comma-separated; unset = the registry's mines.

Inside an Airflow task the Airflow connections `minewatch_positioning_api` and
`minewatch_video_api` may give the URL (host, with schema and port) and the token (password)
instead. A 404 for a mine means the platform does not serve it: said in one line, not fatal.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from connectors.positioning_rest import POSITIONS_PATH, since_param
from connectors.positioning_rest import pull as pull_positions
from connectors.rest import Page, RestAuthError, RestClient, RestError, RestRequestError, advance, env_token
from connectors.video_rest import CAMERAS_PATH, EVENTS_PATH, fetch_cameras, pull_events
from minewatch.config import ConfigError, Settings
from minewatch.load import LoadPath, Outcome

log = logging.getLogger(__name__)

CHINA = timezone(timedelta(hours=8))
API_FEEDS = ("positioning", "video")


class PullError(Exception):
    """A pull stopped: the API failed, or a page could not be loaded. One line; the watermark stays where it was."""


@dataclass(frozen=True)
class Api:
    """Where a feed's vendor API is and which mines to ask it for."""

    feed: str
    base_url: str
    token: str = field(repr=False)
    mines: tuple[str, ...] | None  # None: the registry's mines
    source: str  # where the settings came from, for messages


def api_settings(feed: str, environ=None) -> Api | None:
    """The feed's API from the environment, else (inside an Airflow task) its connection; None when not set up."""
    env = os.environ if environ is None else environ
    prefix = f"MINEWATCH_{feed.upper()}"
    mines = tuple(m.strip() for m in env.get(f"{prefix}_API_MINES", "").split(",") if m.strip()) or None
    url = env.get(f"{prefix}_API_URL", "").strip()
    if url:
        try:
            return Api(feed, url, env_token(feed, env), mines, "environment")
        except RestAuthError as exc:
            raise ConfigError(str(exc)) from None
    if env.get("AIRFLOW_CTX_DAG_ID"):  # only task code may look up Airflow connections
        conn = _airflow_connection(f"minewatch_{feed}_api")
        if conn is not None and conn.host:
            host = conn.host if "://" in conn.host else f"{conn.schema or 'https'}://{conn.host}"
            base = f"{host}:{conn.port}" if conn.port else host
            token = (conn.password or "").strip() or env_token(feed, env)
            return Api(feed, base, token, mines, f"Airflow connection minewatch_{feed}_api")
    return None


def _airflow_connection(conn_id: str):
    try:
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - no such connection (or no Airflow): the API is not set up
        return None


def _stamp(at: datetime) -> str:
    return at.astimezone(CHINA).strftime("%Y%m%d%H%M%S")


def _origin(client: RestClient, path: str, params: dict) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{client.url(path)}?{query}" if query else client.url(path)


class Puller:
    """One pull of one feed's API into the warehouse, mine by mine."""

    def __init__(self, conn, settings: Settings, client: RestClient, now: Callable[[], datetime] | None = None):
        self.conn = conn
        self.client = client
        self.load_path = LoadPath(conn, settings)
        self.now = now or (lambda: datetime.now(CHINA))

    # --- the watermark ----------------------------------------------------------------------------

    def watermark(self, feed: str, endpoint: str, mine: str) -> datetime | None:
        with self.conn, self.conn.cursor() as cur:
            cur.execute(
                "SELECT watermark FROM ledger.api_watermark WHERE feed = %s AND endpoint = %s AND mine_code = %s",
                (feed, endpoint, mine),
            )
            row = cur.fetchone()
        return row[0].astimezone(CHINA) if row else None  # sent as `since` in the platform's own offset

    @staticmethod
    def _save_watermark(cur, feed: str, endpoint: str, mine: str, at: datetime, file_id: int | None) -> None:
        cur.execute(
            """INSERT INTO ledger.api_watermark AS w (feed, endpoint, mine_code, watermark, file_id, pages)
               VALUES (%s, %s, %s, %s, %s, 1)
               ON CONFLICT (feed, endpoint, mine_code) DO UPDATE
                  SET watermark = greatest(w.watermark, EXCLUDED.watermark),
                      file_id = coalesce(EXCLUDED.file_id, w.file_id),
                      pages = w.pages + 1, updated_at = now()""",
            (feed, endpoint, mine, at, file_id),
        )

    # --- pages ------------------------------------------------------------------------------------

    def _load(self, delivery, outcome: Outcome, after, why_failed: str) -> None:
        """Load one archived answer (with `after` in its transaction); `PullError` when it did not load."""
        loaded = self.load_path.load_batch([delivery], after=after)
        outcome.merge(loaded)
        if loaded.files.get("failed"):
            raise PullError(f"{self.client.feed} API, {why_failed}")

    def _pages(self, feed: str, kind: str, mine: str, path: str, token_param: str, base_params: dict,
               pages: Iterator[Page], outcome: Outcome) -> int:
        """Load each page and advance the watermark with it; the number of pages pulled."""
        mark = self.watermark(feed, kind, mine)
        pulled_at = _stamp(self.now())
        count = 0
        for page in pages:
            count += 1
            name = f"{mine}_{kind}_{pulled_at}_p{page.number}.json"
            origin = _origin(self.client, path, {**base_params, token_param: page.token})
            delivery = self.load_path.register_bytes(origin, name, page.body, outcome)
            new_mark = advance(mark, page)
            if delivery is None:  # the same answer was loaded before: its rows are there already
                if new_mark is not None and new_mark != mark:
                    with self.conn, self.conn.cursor() as cur:
                        self._save_watermark(cur, feed, kind, mine, new_mark, None)
            else:
                def after(cur, _outcome, _mark=new_mark, _file_id=delivery.file_id):
                    if _mark is not None:
                        self._save_watermark(cur, feed, kind, mine, _mark, _file_id)

                self._load(delivery, outcome, after,
                           f"mine {mine}: page {page.number} ({origin}) could not be loaded; the watermark stays at "
                           f"{mark.isoformat() if mark else 'the start'} and the next pull resumes there")
            mark = new_mark
        return count

    def positions(self, mine: str, outcome: Outcome) -> int:
        since = self.watermark("positioning", "positions", mine)
        params = {"since": since_param(since) if since else None}
        return self._pages("positioning", "positions", mine, POSITIONS_PATH.format(mine=mine), "page_token", params,
                           pull_positions(self.client, mine, since), outcome)

    def cameras(self, mine: str, outcome: Outcome) -> None:
        """The camera inventory: one snapshot, named by the pull time (its `snapshot_at`)."""
        _, body = fetch_cameras(self.client, mine)
        name = f"{mine}_cameras_{_stamp(self.now())}.json"
        origin = _origin(self.client, CAMERAS_PATH, {"mine": mine})
        delivery = self.load_path.register_bytes(origin, name, body, outcome)
        if delivery is not None:
            self._load(delivery, outcome, None,
                       f"mine {mine}: the camera inventory could not be loaded; retried next pull")

    def video_events(self, mine: str, outcome: Outcome) -> int:
        since = self.watermark("video", "video_events", mine)
        params = {"mine": mine, "since": since_param(since) if since else None}
        return self._pages("video", "video_events", mine, EVENTS_PATH, "cursor", params,
                           pull_events(self.client, mine, since), outcome)


def registry_mines(conn) -> list[str]:
    """The mines the registry lists now."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT DISTINCT mine_code FROM core.mine WHERE valid_to IS NULL ORDER BY mine_code")
        return [r[0] for r in cur.fetchall()]


def pull_api(conn, settings: Settings, feed: str, api: Api | None = None,
             client: RestClient | None = None) -> Outcome:
    """Pull one feed's vendor API for each of its mines; `outcome.problems` says what went wrong per mine.

    An authentication failure (401/403) stops the whole pull with `PullError`: the token is
    wrong for every mine. Any other failure of one mine is a problem line and counts in
    `outcome.files["api_failed"]`; the other mines go on.
    """
    if feed not in API_FEEDS:
        raise ConfigError(f"no vendor API for feed {feed!r} (one of {', '.join(API_FEEDS)})")
    outcome = Outcome()
    api = api or api_settings(feed)
    if api is None:
        outcome.problems.append(f"no {feed} API is set up (MINEWATCH_{feed.upper()}_API_URL); nothing pulled")
        return outcome
    mines = list(api.mines) if api.mines else registry_mines(conn)
    own = client is None
    client = client or RestClient(api.base_url, api.token, feed=feed)
    puller = Puller(conn, settings, client)

    def failed(line: str) -> None:
        outcome.files["api_failed"] += 1  # mines whose pull stopped early
        outcome.problems.append(line)

    try:
        for mine in mines:
            try:
                if feed == "positioning":
                    puller.positions(mine, outcome)
                else:
                    puller.cameras(mine, outcome)
                    puller.video_events(mine, outcome)
            except RestRequestError as exc:
                if exc.status == 404:
                    outcome.problems.append(
                        f"{feed} API at {api.base_url} does not serve mine {mine} (404); nothing pulled for it")
                    continue
                failed(f"{feed} API, mine {mine}: {exc}; retried next pull")
            except RestAuthError as exc:
                raise PullError(f"{feed} API at {api.base_url} refused the token ({api.source}): {exc}") from None
            except RestError as exc:
                failed(f"{feed} API, mine {mine}: {exc}; retried next pull")
            except PullError as exc:
                failed(str(exc))
    finally:
        if own:
            client.close()
    return outcome
