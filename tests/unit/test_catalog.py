"""File names to feeds and kinds (contract A), and COPY text encoding."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from connectors.catalog import identify, match
from minewatch.load import _copy_text


def test_registry_files_are_known_by_base_name():
    m = match("areas.csv")
    assert (m.feed, m.kind, m.phase) == ("registry", "areas", 0)
    assert match("AREAS.CSV").kind == "areas"
    assert match("areas_backup.csv") is None


def test_stamped_names_give_mine_kind_and_stamp():
    assert identify("410403004688_CDSS_20260318080010.txt") == ("CDSS", "410403004688", datetime(2026, 3, 18, 8, 0, 10))
    assert identify("41040300468_AQSS_20260318080010.txt")[1] == "41040300468"
    assert identify("410403004688_safety_20260318.csv") == ("safety", "410403004688", datetime(2026, 3, 18))
    assert identify("meter_readings_20260318.csv") == ("meter_readings", None, datetime(2026, 3, 18))
    assert identify("12345_CDSS_20260318080010.txt") is None  # mine codes are 6 to 20 digits
    assert identify("readme.txt") is None


def test_copy_text_escapes_and_types():
    assert _copy_text(None) == "\\N"
    assert _copy_text("a\tb\nc\\d") == "a\\tb\\nc\\\\d"
    assert _copy_text(True) == "t"
    assert _copy_text(1.5) == "1.5"
    assert _copy_text(Decimal("0.10")) == "0.10"
    assert _copy_text(date(2026, 3, 18)) == "2026-03-18"
    cst = timezone(timedelta(hours=8))
    assert _copy_text(datetime(2026, 3, 18, 8, 0, 10, tzinfo=cst)) == "2026-03-18T08:00:10+08:00"
    assert _copy_text({"k": "甲\t"}) == '{"k": "甲\\\\t"}'
