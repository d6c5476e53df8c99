"""Reading CDSS files in bulk (`read_block`) gives what reading them record by record gives.

Every file the bulk reader takes must come out as the very COPY lines the record-by-record
path writes; every file with a reject or a file-level fault must be left to that path, so
its rejects are the usual ones. The files here cover what vendors send: line breaks after
records, a BOM, GB18030, a trailing `;`, bad numbers, bad and empty times, a time outside
the window, an empty point code, a point twice in one cycle, a record of the wrong width.
"""

from __future__ import annotations

import pytest

from connectors.base import FileContext, FileRejected
from connectors.catalog import match
from minewatch.load import _encoder, block_text, by_key
from schemas import Record, Reject

M = "410403004688"
P = [f"{M}01MN0001{i:03d}A{i:02d}" for i in range(1, 5)]
KEY = [0, 2, 1]  # mine, sample time, point: the readings table's key, the order its COPY text comes in


def record(point: str, value: str = "0.31", status: str = "0", at: str = "2026-03-18 08:00:00",
           name: str = "甲烷", place: str = "回风巷") -> str:
    return f"{point};{name};{place};{value};%CH4;{status};{at}"


def cdss(records: list[str], upload: str = "2026-03-18 08:00:10", sep: str = "~", end: str = "||",
         header: str | None = None) -> bytes:
    head = header if header is not None else f"{M};新华煤矿;{upload};KJ95X;安全监控;煤科院;2028-12-31"
    return (head + sep + "".join(r + sep for r in records) + end).encode()


def clean(n: int = 4, **kw) -> list[str]:
    return [record(p, value=f"0.{i + 1}", **kw) for i, p in enumerate(P[:n])]


FILES = {
    "plain": cdss(clean()),
    "line breaks after records": cdss(clean(), sep="~\r\n"),
    "newline after each record": cdss(clean(), sep="~\n"),
    "bom": b"\xef\xbb\xbf" + cdss(clean()),
    "gb18030": cdss(clean()).decode().encode("gb18030"),
    "trailing semicolon tolerated": cdss([r + ";" for r in clean()]),
    "no values and -9999": cdss([record(P[0], value=""), record(P[1], value="-9999"), record(P[2], value=" ")]),
    "numbers of every spelling": cdss([record(P[0], value="1e3"), record(P[1], value="+2.50"),
                                      record(P[2], value="-0.0"), record(P[3], value=".5")]),
    "status above 255": cdss([record(P[0], status="257"), record(P[1], status="")]),
    "bad number": cdss([*clean(3), record(P[3], value="abc")]),
    "nan is not a number": cdss([*clean(3), record(P[3], value="nan")]),
    "bad status": cdss([*clean(3), record(P[3], status="-1")]),
    "bad time": cdss([*clean(3), record(P[3], at="18/03/2026")]),
    "empty time": cdss([*clean(3), record(P[3], at="")]),
    "time outside the window": cdss([*clean(3), record(P[3], at="2026-03-18 09:00:00")]),
    "empty point code": cdss([*clean(3), record(" ")]),
    "point twice in a cycle": cdss([*clean(4), record(P[0], value="0.9")]),
    "same point with blanks twice": cdss([record(P[0]), record(" " + P[0] + " ")]),
    "one field short, one too many": cdss([record(P[0]) + ";x", "A;B;C;D;E;F"]),
    "full-width separator": cdss([*clean(3), record(P[3]).replace(";", "；")]),
    "escapes in a point code": cdss([record(P[0] + "\\x"), record(P[1] + "\tq")]),
    "slashes and offsets in times": cdss([record(P[0], at="2026/03/18 08:00:00"),
                                          record(P[1], at="2026-03-18T00:00:00+00:00")]),
    "no trailer yet": cdss(clean(), end=""),
    "header of another mine": cdss(clean(), header="410403000000;别的矿;2026-03-18 08:00:10"),
    "no records": cdss([]),
    "an empty record": cdss(clean()).replace(b"~" + P[1].encode(), b"~~" + P[1].encode()),
}


def by_record(data: bytes, ctx: FileContext, file_id: int) -> tuple[list[str] | None, bool]:
    """(COPY lines, clean) as the record-by-record path writes them; clean: no reject, no file fault."""
    stream = match(ctx.name).stream
    encode = _encoder(stream.outputs[0].name)
    lines, clean_ = [], True
    try:
        for item in stream.read(data, ctx):
            if type(item) is Record:
                lines.append(((item.values[0], item.values[2], item.values[1]), item.record_no,
                              encode(f"{file_id}\t", item.record_no, item.values)))
            elif type(item) is Reject:
                clean_ = False
    except FileRejected:
        return None, False
    return lines, clean_


def test_bulk_reading_writes_the_record_by_record_lines_and_leaves_every_faulty_file_to_that_path():
    names = list(FILES)
    ctxs = [FileContext(f"{M}_CDSS_20260318{80010 + i:06d}.txt", M, None) for i in range(len(names))]
    stream = match(ctxs[0].name).stream
    block, rest = stream.read_block((FILES[n], c) for n, c in zip(names, ctxs, strict=True))
    ids = [1000 + i for i in range(len(names))]
    expected, must_be_rest = [], set()
    for i, n in enumerate(names):
        lines, clean_ = by_record(FILES[n], ctxs[i], ids[i])
        if not clean_:
            must_be_rest.add(n)
        elif i not in rest:
            expected += lines
    left = {names[i] for i in rest}
    assert must_be_rest <= left, f"files with faults read in bulk: {must_be_rest - left}"
    # what vendors send every day must not be left to the slow path
    for n in ("plain", "line breaks after records", "newline after each record", "bom", "no values and -9999",
              "numbers of every spelling", "status above 255", "escapes in a point code",
              "slashes and offsets in times"):
        assert n not in left, n
    assert set(block.infos) == {i for i in range(len(names)) if i not in rest}
    expected.sort(key=lambda x: (x[0], ids.index(int(x[2].split("\t", 1)[0])), x[1]))
    got = b"".join(block_text(by_key(block, KEY), ids)).decode()
    assert got == "".join(line for *_, line in expected)
    assert got.count("\n") == block.rows


@pytest.mark.parametrize("rows", [1, 7, 301])
def test_bulk_lines_are_whole_whatever_the_count(rows, monkeypatch):
    import minewatch.load as load

    monkeypatch.setattr(load, "ASSEMBLE_ROWS", 5)  # many chunks, and a last one that is short
    data = cdss([record(f"{M}01MN0001{i:03d}A{i % 100:02d}", value=str(i / 7)) for i in range(rows)])
    ctx = FileContext(f"{M}_CDSS_20260318080010.txt", M, None)
    block, rest = match(ctx.name).stream.read_block([(data, ctx)])
    assert rest == []
    lines, _ = by_record(data, ctx, 7)
    lines.sort(key=lambda x: (x[0], x[1]))
    assert b"".join(block_text(by_key(block, KEY), [7])).decode() == "".join(x[2] for x in lines)


def test_validation_frames_built_from_a_block_equal_those_read_from_its_copy_text():
    import pandas as pd

    from minewatch.load import Spool
    from minewatch.validation import block_frame, frame
    from schemas import SCHEMAS

    names = list(FILES)
    ctxs = [FileContext(f"{M}_CDSS_20260318{80010 + i:06d}.txt", M, None) for i in range(len(names))]
    block, _ = match(ctxs[0].name).stream.read_block((FILES[n], c) for n, c in zip(names, ctxs, strict=True))
    block = by_key(block, KEY)
    ids = [500 + i for i in range(len(names))]
    columns = [(c.name, c.pg_type) for c in SCHEMAS[block.target].columns]
    spool = Spool()
    spool.write_block(block, ids)
    pd.testing.assert_frame_equal(_plain(block_frame(block, ids, columns)), frame(spool, columns))


def _plain(df):
    """A block frame with its categorical text columns as `frame` reads them: str, NaN for none."""
    import pandas as pd

    assert isinstance(df["point_code"].dtype, pd.CategoricalDtype)
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype("str")
    return df


def test_blocks_read_group_by_group_join_into_one_frame_equal_to_their_copy_text():
    import pandas as pd

    from minewatch.load import Spool, concat_blocks
    from minewatch.validation import block_frame, frame
    from schemas import SCHEMAS, Block

    names = [n for n in FILES if n in ("plain", "bom", "numbers of every spelling", "status above 255",
                                       "no values and -9999", "slashes and offsets in times")]
    ctxs = [FileContext(f"{M}_CDSS_20260318{80010 + i:06d}.txt", M, None) for i in range(len(names))]
    stream = match(ctxs[0].name).stream
    ids = [700 + i for i in range(len(names))]
    spool, blocks = Spool(), []
    for start in (0, 2, 4):  # three groups of two files, as the load path reads a batch
        block, rest = stream.read_block((FILES[n], c) for n, c in zip(names[start:start + 2], ctxs[start:start + 2],
                                                                     strict=True))
        assert rest == []
        block = by_key(Block(block.target, block.infos, block.file_of + start, block.record_no, block.columns), KEY)
        spool.write_block(block, ids)
        blocks.append(block)
    joined = concat_blocks(blocks)
    assert len({v for v in joined.columns[0][1]}) == 1  # one mine, one code
    columns = [(c.name, c.pg_type) for c in SCHEMAS[joined.target].columns]
    pd.testing.assert_frame_equal(_plain(block_frame(joined, ids, columns)), frame(spool, columns))
