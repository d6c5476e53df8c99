"""What every connector stream is: a declared export type with a `read` method."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from schemas import FileInfo, Record, RecordSchema, Reject


class FileRejected(Exception):
    """The whole file is unusable (reason code from contract I.1: truncated, bad_encoding, hostile_xml, …)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class FileIncomplete(FileRejected):
    """The file has no trailer yet: still being uploaded, or truncated if it stays so."""

    def __init__(self, detail: str = "no '||' trailer"):
        super().__init__("truncated", detail)


@dataclass(frozen=True)
class FileContext:
    """What the load path knows about a landing file besides its bytes."""

    name: str  # base name, e.g. 410403004688_CDSS_20260318080010.txt
    mine_code: str | None = None  # from the file name, when the pattern has one
    stamp: datetime | None = None  # the file-name time stamp (naive local time)


Item = FileInfo | Record | Reject


class Stream:
    """A declared export type: feed, kind, outputs and `read(bytes) -> records and rejects`.

    Subclasses set `feed` (contract I names: registry, safety, positioning,
    video, meters, explosives), `kind` (e.g. CDSS, AQMC, areas) and `outputs`
    (the canonical schemas it yields), and implement `read`. `read` may yield
    one `FileInfo` first; it raises `FileRejected` for a file-level fault and
    `FileIncomplete` for a file without its trailer.
    """

    feed: str = ""
    kind: str = ""
    outputs: tuple[RecordSchema, ...] = ()

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        raise NotImplementedError


def decode_text(data: bytes) -> str:
    """Decode a vendor text file: BOM, then UTF-8, then GB18030 (contract B.0, J)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FileRejected("bad_encoding", f"neither UTF-8 nor GB18030 (byte {exc.start})") from None
