"""Where the vendor APIs are: from the environment only, never from code (minewatch.pull)."""

from __future__ import annotations

import pytest

from minewatch.config import ConfigError
from minewatch.pull import api_settings


def test_no_url_means_the_api_is_not_pulled():
    assert api_settings("positioning", {}) is None


def test_url_token_and_mines_come_from_the_environment():
    api = api_settings("video", {"MINEWATCH_VIDEO_API_URL": "http://127.0.0.1:8080",
                                 "MINEWATCH_VIDEO_TOKEN": " s3cret ",
                                 "MINEWATCH_VIDEO_API_MINES": "410403004688, 410403004699,"})
    assert (api.base_url, api.token, api.mines) == ("http://127.0.0.1:8080", "s3cret", ("410403004688", "410403004699"))
    assert "s3cret" not in repr(api)  # a token never lands in a log line


def test_a_url_without_a_token_is_one_clear_configuration_error():
    with pytest.raises(ConfigError, match="MINEWATCH_POSITIONING_TOKEN"):
        api_settings("positioning", {"MINEWATCH_POSITIONING_API_URL": "http://127.0.0.1:8080"})
