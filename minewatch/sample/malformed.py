"""Broken input added by `--malformed`, each with the handling the contract (A, B.0, I.1) expects."""

from __future__ import annotations

import os

from minewatch.sample.province import Province, daystamp


def _files(root: str, rel_dir: str, kind: str) -> list[str]:
    d = os.path.join(root, rel_dir)
    if not os.path.isdir(d):
        return []
    return [f"{rel_dir}/{n}" for n in sorted(os.listdir(d)) if f"_{kind}_" in n]


def _read(root: str, rel: str) -> bytes:
    with open(os.path.join(root, rel), "rb") as f:
        return f.read()


def _write(root: str, rel: str, data: bytes) -> None:
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def add_malformed(root: str, province: Province) -> list[dict]:
    """Damage or add files in the landing folder; return their labels."""
    labels: list[dict] = []
    day0 = daystamp(province.t0)
    national = next((m for m in province.mines if m.safety == "national"), None)
    provincial = next((m for m in province.mines if m.safety == "provincial"), None)
    ryss_mine = next((m for m in province.mines if m.positioning == "files"), None)

    def label(rel: str, problem: str, reason: str | None, handling: str, **extra) -> None:
        labels.append(
            {"path": rel, "problem": problem, "expected_reason": reason, "expected_handling": handling, **extra}
        )

    if national:
        cdss = _files(root, f"{national.code}/{day0}", "CDSS")
        picks = [cdss[len(cdss) * k // 8] for k in (3, 4, 5, 6, 7)] if len(cdss) >= 8 else []
        if picks:
            rel = picks[0]
            data = _read(root, rel)
            cut = (
                data.index(b"~", data.index(b"~", data.index(b"~") + 1) + 1) + 12
            )  # inside the third record's ASCII code
            _write(root, rel, data[:cut])
            label(
                rel,
                "truncated upload: no '||' trailer, cut inside a record",
                "truncated",
                "pending while fresh; quarantined whole as truncated once stale",
                expected_status="quarantined",
            )

            rel = picks[1]
            data = _read(root, rel).decode("utf-8")
            recs = data.split("~")
            fields = recs[2].split(";")
            fields[3] = "溢出"
            recs[2] = ";".join(fields)
            _write(root, rel, "~".join(recs).encode("utf-8"))
            label(
                rel,
                "non-numeric value '溢出' in record 2",
                "bad_number",
                "record 2 held in quarantine; the file's other records load",
                record_no=2,
                expected_status="loaded",
            )

            rel = picks[2]
            data = _read(root, rel).decode("utf-8")
            body, trailer = data[: -len("||")], "||"
            n = body.count("~") - 1
            sep = "\r\n" if not national.one_line else ""
            last = body.rstrip("\r\n").rsplit("~", 2)[-2].split(";")
            unknown = f"{national.code}01MN0001099A99"
            extra = ";".join([unknown, "甲烷", "未登记测点", "0.12", "%CH4", "0", last[-1]])
            _write(root, rel, (body + extra + "~" + sep + trailer).encode("utf-8"))
            label(
                rel,
                f"point {unknown} has no definition (CDDY)",
                "unknown_point",
                f"record {n + 1} held as unknown_point and retried after each definition load; it stays held",
                record_no=n + 1,
                expected_status="loaded",
            )

            rel = picks[3]
            data = _read(root, rel).decode("utf-8")
            _write(root, rel, data.encode("utf-16"))
            label(
                rel,
                "file saved as UTF-16 (neither UTF-8 nor GB18030)",
                "bad_encoding",
                "whole file quarantined as bad_encoding",
                expected_status="quarantined",
            )

            src = picks[4]
            name = os.path.basename(src)
            stamp = int(name.rsplit("_", 1)[1][:14]) + 1
            rel = f"{national.code}/{day0}/resend/{national.code}_CDSS_{stamp}.txt"
            _write(root, rel, _read(root, src))
            label(
                rel,
                f"the same bytes as {src}, delivered again under another name",
                None,
                "recorded as a duplicate delivery, not loaded again",
                expected_status="duplicate",
                duplicate_of=src,
            )

    if provincial:
        aqss = _files(root, f"{provincial.code}/{day0}", "AQSS")
        if len(aqss) > 10:
            rel = aqss[len(aqss) // 3]
            data = _read(root, rel).decode("gb18030")
            recs = data.split("~")
            fields = recs[4].split(";")
            fields[2] = "--.-"
            recs[4] = ";".join(fields)
            _write(root, rel, "~".join(recs).encode("gb18030"))
            label(
                rel,
                "non-numeric value '--.-' in record 4 (GB18030 file)",
                "bad_number",
                "record 4 held in quarantine; the file's other records load",
                record_no=4,
                expected_status="loaded",
            )

    if ryss_mine:
        ryss = _files(root, f"{ryss_mine.code}/{day0}", "RYSS")
        cands = [r for r in ryss[len(ryss) // 2 :] if _read(root, r).count(b"~") > 4]
        if cands:
            rel = cands[0]
            data = _read(root, rel).decode("utf-8")
            recs = data.split("~")
            fields = recs[3].split(";")
            del fields[10]
            recs[3] = ";".join(fields)
            _write(root, rel, "~".join(recs).encode("utf-8"))
            label(
                rel,
                "record 3 has 14 fields instead of 15 (distance missing)",
                "field_count",
                "record 3 held in quarantine; the file's other records load",
                record_no=3,
                expected_status="loaded",
            )

    mine = province.mines[0]
    rel = f"{mine.code}/{day0}/{mine.code}_explosives_{day0}.csv"
    if os.path.exists(os.path.join(root, rel)):
        data = _read(root, rel)
        lines = data.split(b"\r\n")
        while lines and not lines[-1]:
            lines.pop()
        area = mine.areas_of("heading", declared=True)[0].code
        lines.append(f"HG{day0}999,{day0[:4]}-{day0[4:6]}-{day0[6:]}T25:70:00+08:00,{area},12.0,20,0.0,0".encode())
        _write(root, rel, b"\r\n".join(lines) + b"\r\n")
        label(
            rel,
            f"issued_at '{day0[:4]}-{day0[4:6]}-{day0[6:]}T25:70:00+08:00' is not a time",
            "bad_time",
            f"line {len(lines) - 1} held in quarantine; the other issues load",
            record_no=len(lines) - 1,
            expected_status="loaded",
        )

    espi = next((m for m in province.mines if m.meters_kind == "espi"), None)
    if espi:
        rel = f"meters/greenbutton_{espi.code}_{day0}_export.xml"
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:uuid:0</id><title>&xxe;</title>'
            '<entry><link rel="self" href="/espi/1_1/resource/RetailCustomer/1/UsagePoint/X"/><title>&xxe;</title>'
            '<content><UsagePoint xmlns="http://naesb.org/espi"><ServiceCategory><kind>0</kind></ServiceCategory>'
            "</UsagePoint></content></entry></feed>\n"
        )
        _write(root, rel, xml.encode())
        label(
            rel,
            "ESPI feed declaring an external entity (XXE)",
            "hostile_xml",
            "whole file quarantined as hostile_xml; the entity is never resolved",
            expected_status="quarantined",
        )

    rel = f"{mine.code}/上传说明.txt"
    _write(root, rel, "本目录为监控数据上传目录,请勿删除。\r\n".encode("gb18030"))
    label(
        rel,
        "a file whose name matches no pattern",
        None,
        "reported as unrecognised and left in place",
        expected_status="unmatched",
    )
    return labels
