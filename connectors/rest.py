"""The one client of the vendor REST APIs (contract C.2 positions, D.1 cameras and events).

A `RestClient` sends the caller's bearer token on every request, with a
connect and a read timeout on every call; it honours 429 `Retry-After`
(seconds or an HTTP date, capped), retries 5xx answers, timeouts and dropped
connections with exponential backoff up to a bounded number of attempts, and
fails at once with `RestAuthError` on 401/403 and `RestRequestError` on any
other 4xx. `pages()` follows an endpoint's paging to the end, page token or
cursor alike (`Paging`), and yields `Page`s: the items, the greatest receive
time among them and the bytes as received. The caller commits a page's rows
and only then advances its stored watermark (`advance`); `since` is inclusive,
so the warehouse de-duplicates by natural key (contract J).

The token comes from the caller (an Airflow connection, or `env_token`:
`MINEWATCH_<FEED>_TOKEN`), never from code. Sleeping and the wall clock (used
only to read a `Retry-After` HTTP date) are injectable for tests.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0  # seconds to open a connection
READ_TIMEOUT = 60.0  # seconds to wait for bytes of the answer
MAX_ATTEMPTS = 5  # per request, counting the first
BACKOFF = 1.0  # first wait after a 5xx or a timeout; doubles each attempt
BACKOFF_MAX = 60.0
RETRY_AFTER_MAX = 300.0  # a longer Retry-After is capped to this
MAX_PAGES = 100_000  # a paging that goes on longer is a vendor bug


class RestError(Exception):
    """A vendor API could not be read; the message says which API and why."""


class RestAuthError(RestError):
    """The API refused the token (401 or 403): fail the task, do not retry."""


class RestRequestError(RestError):
    """The API rejected the request (a 4xx other than 401, 403 and 429)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class RestUnavailable(RestError):
    """The API kept failing (5xx, 429, timeouts, dropped connections) for every allowed attempt."""


class RestProtocolError(RestError):
    """The API answered something that is not the documented JSON (or its paging loops)."""


@dataclass(frozen=True)
class Paging:
    """How an endpoint pages: items under `items_key`, the next token under `next_key`, sent back as `param`."""

    items_key: str
    next_key: str
    param: str


PAGE_TOKEN = Paging("items", "next_page_token", "page_token")  # C.2 positions
CURSOR = Paging("events", "next_cursor", "cursor")  # D.1 events


@dataclass(frozen=True)
class Page:
    """One page of an endpoint: its items, their greatest receive time, and the bytes as received."""

    number: int  # 1-based within one `pages()` call
    items: list[Any]
    max_time: datetime | None  # greatest receive time of the items (None when no item had one)
    token: str | None  # the page token or cursor that fetched this page (None for the first)
    next_token: str | None  # None on the last page
    body: bytes

    @property
    def is_last(self) -> bool:
        return self.next_token is None


def advance(watermark: datetime | None, page: Page) -> datetime | None:
    """The watermark after a page was committed: the greater of the two."""
    if page.max_time is None:
        return watermark
    if watermark is None or page.max_time > watermark:
        return page.max_time
    return watermark


def env_token(feed: str, environ: Mapping[str, str] | None = None) -> str:
    """The bearer token of a feed's API from `MINEWATCH_<FEED>_TOKEN`, or `RestAuthError` when unset."""
    name = f"MINEWATCH_{feed.upper()}_TOKEN"
    token = (os.environ if environ is None else environ).get(name, "").strip()
    if not token:
        raise RestAuthError(f"no token for the {feed} API: set {name} or the feed's Airflow connection")
    return token


def _no_query(url: str) -> str:
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, p.path, "", ""))


class RestClient:
    """A vendor API at `base_url`, read with a bearer token; `feed` names it in errors (`positioning`, `video`)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        feed: str = "vendor",
        session: requests.Session | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        max_attempts: int = MAX_ATTEMPTS,
        backoff: float = BACKOFF,
        backoff_max: float = BACKOFF_MAX,
        retry_after_max: float = RETRY_AFTER_MAX,
        max_pages: int = MAX_PAGES,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ):
        if not token or not token.strip():
            raise RestAuthError(f"no token for the {feed} API at {_no_query(base_url)}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.feed = feed
        self._headers = {"Authorization": f"Bearer {token.strip()}", "Accept": "application/json"}
        self._own_session = session is None
        self.session = session if session is not None else requests.Session()
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self.max_pages = max_pages
        self.sleep = sleep
        self.clock = clock

    def __repr__(self) -> str:  # never shows the token
        return f"RestClient({self.feed!r}, {self.base_url!r})"

    def close(self) -> None:
        """Close the session when the client opened it."""
        if self._own_session:
            self.session.close()

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def url(self, path: str) -> str:
        """The full URL of an endpoint path."""
        return f"{self.base_url}/{path.lstrip('/')}"

    # ------------------------------------------------------------ one request

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> requests.Response:
        """GET an endpoint with retries; a 2xx response, or a `RestError`."""
        url = self.url(path)
        where = f"{self.feed} API at {_no_query(url)}"
        problem = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                resp = self.session.get(url, params=params, headers=self._headers, timeout=self.timeout)
            except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                problem = _network_problem(exc, self.timeout)
                wait = self._backoff(attempt)
            else:
                status = resp.status_code
                if 200 <= status < 300:
                    return resp
                text = _snippet(resp)
                resp.close()
                if status in (401, 403):
                    raise RestAuthError(f"{where} refused the token ({status}){text}")
                if status == 429:
                    problem = "429 Too Many Requests"
                    wait = self._retry_after(resp)
                    wait = self._backoff(attempt) if wait is None else wait
                elif status >= 500:
                    problem = f"{status} {resp.reason or 'server error'}".strip()
                    wait = self._retry_after(resp)
                    wait = self._backoff(attempt) if wait is None else wait
                else:
                    raise RestRequestError(f"{where} rejected the request ({status}){text}", status)
            if attempt == self.max_attempts:
                break
            log.warning("%s: %s; retry %d of %d in %.1f s", where, problem, attempt, self.max_attempts - 1, wait)
            self.sleep(wait)
        raise RestUnavailable(f"{where} still failing after {self.max_attempts} attempt(s): {problem}")

    def fetch(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[Any, bytes]:
        """GET an endpoint and decode its JSON: (payload, bytes as received)."""
        resp = self.get(path, params)
        body = resp.content
        try:
            return json.loads(body), body
        except ValueError as exc:  # also UnicodeDecodeError
            raise RestProtocolError(f"{self.feed} API at {_no_query(resp.url)} answered no JSON: {exc}") from None

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET an endpoint's decoded JSON."""
        return self.fetch(path, params)[0]

    # ------------------------------------------------------------ paging

    def pages(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        paging: Paging,
        time_of: Callable[[Any], datetime | None] | None = None,
    ) -> Iterator[Page]:
        """Yield the endpoint's pages until the next token is null; `time_of` gives an item's receive time."""
        where = f"{self.feed} API at {_no_query(self.url(path))}"
        token: str | None = None
        seen: set[str] = set()
        number = 0
        while True:
            number += 1
            if number > self.max_pages:
                raise RestProtocolError(f"{where} is still paging after {self.max_pages} pages")
            query = dict(params or {})
            if token is not None:
                query[paging.param] = token
            payload, body = self.fetch(path, query)
            if not isinstance(payload, dict) or not isinstance(payload.get(paging.items_key), list):
                raise RestProtocolError(f"{where} answered no {paging.items_key!r} list on page {number}")
            items = payload[paging.items_key]
            nxt = payload.get(paging.next_key)
            if isinstance(nxt, bool) or (nxt is not None and not isinstance(nxt, str | int)):
                raise RestProtocolError(f"{where} answered a {paging.next_key} that is no token: {nxt!r}")
            nxt = None if nxt is None or nxt == "" else str(nxt)
            yield Page(number, items, _max_time(items, time_of), token, nxt, body)
            if nxt is None:
                return
            if nxt in seen:
                raise RestProtocolError(f"{where} paging loops: {paging.next_key} {nxt!r} came back")
            seen.add(nxt)
            token = nxt

    # ------------------------------------------------------------ waits

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff * 2 ** (attempt - 1), self.backoff_max)

    def _retry_after(self, resp: requests.Response) -> float | None:
        value = (resp.headers.get("Retry-After") or "").strip()
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = parsedate_to_datetime(value).timestamp() - self.clock()
            except (TypeError, ValueError, IndexError):
                return None
        if seconds != seconds:  # nan
            return None
        return min(max(seconds, 0.0), self.retry_after_max)


def _max_time(items: list[Any], time_of: Callable[[Any], datetime | None] | None) -> datetime | None:
    if time_of is None:
        return None
    best = None
    for item in items:
        try:
            at = time_of(item)
        except (ValueError, TypeError, KeyError, AttributeError):
            continue  # a malformed item: the connector rejects it, it moves no watermark
        if at is not None and (best is None or at > best):
            best = at
    return best


def _network_problem(exc: Exception, timeout: tuple[float, float]) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return f"no connection within {timeout[0]:g} s"
    if isinstance(exc, requests.ReadTimeout):
        return f"no answer within {timeout[1]:g} s"
    return f"connection failed ({type(exc).__name__})"


def _snippet(resp: requests.Response, limit: int = 200) -> str:
    try:
        text = resp.text.strip().replace("\n", " ")
    except Exception:  # noqa: BLE001 - a body we cannot even read adds nothing to the message
        return ""
    return f": {text[:limit]}" if text else ""
