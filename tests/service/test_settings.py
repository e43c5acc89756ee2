"""Settings come from one typed source: every field is a `talkies serve` option whose help shows
its default and its environment variable, and an unknown TALKIES_* variable stops start-up."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from talkies.cli import build_parser
from talkies.errors import InvalidOptionError
from talkies.service.commands import API_ONLY, settings_from
from talkies.service.settings import Settings, option_name


def _help(command: str) -> str:
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return " ".join(commands.choices[command].format_help().split())


def test_every_setting_is_an_option_with_its_default_and_variable() -> None:
    text = _help("serve")
    for name in Settings.model_fields:
        assert option_name(name) in text, name
        assert Settings.env_name(name) in text, name
    assert "(default: 7d; env TALKIES_RETENTION_S)" in text
    assert "(default: 127.0.0.1; env TALKIES_HOST)" in text
    worker = _help("worker")
    assert all(Settings.env_name(n) in worker for n in Settings.model_fields if n not in API_ONLY)


def test_options_win_over_the_environment() -> None:
    args = build_parser().parse_args(["serve", "--port", "9001", "--api-key", "a", "--api-key", "b"])
    settings = settings_from(args, {"TALKIES_PORT": "9000", "TALKIES_WEBHOOK_BACKOFF_S": "1m"})
    assert settings.port == 9001 and settings.api_keys == ("a", "b") and settings.webhook_backoff_s == 60


def test_bad_option_value_names_the_option() -> None:
    args = build_parser().parse_args(["serve", "--heartbeat", "soon"])
    with pytest.raises(InvalidOptionError, match=r"--heartbeat is 'soon': use seconds"):
        settings_from(args, {})


def test_unknown_variable_names_the_closest_setting() -> None:
    with pytest.raises(
        InvalidOptionError, match="TALKIES_API_KEY is not a talkies setting; did you mean TALKIES_API_KEYS"
    ):
        Settings.load({"TALKIES_API_KEY": "secret"})
    Settings.load({"TALKIES_TEST_REDIS": "redis://x", "OTHER": "1"})  # test harness names are not typos


def test_unknown_variable_stops_start_up() -> None:
    """The real command: a misspelt key variable must not start a server without authentication."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALKIES_")}
    env["TALKIES_API_KEY"] = "secret"
    done = subprocess.run(
        [sys.executable, "-m", "talkies", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done
    assert done.stderr.strip() == (
        "talkies: error: environment variable TALKIES_API_KEY is not a talkies setting; "
        "did you mean TALKIES_API_KEYS?"
    )
