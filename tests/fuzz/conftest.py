"""The fuzzing suite's server and its tally (issue 14, acceptance 2).

The server is the real app (every middleware, router and store, on a real data directory)
served by uvicorn on 127.0.0.1 in a thread of the test process. In-process, so that nothing a
generator invents can leave this machine: the address guard is patched to refuse every address
but 127.0.0.1 and the resolver to resolve nothing, so a generated `http://8.8.8.8/` or
`fal_webhook=http://example.com/` is refused like any private address (no DNS query either). No
workers run: submitted jobs stay queued (the worker paths are fuzzed in tests/service with a
hostile origin). Every request schemathesis makes is counted in `Tally`, and the suite's
figures are printed at the end of the session (and written to $TALKIES_FUZZ_REPORT if set).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from talkies.service import fetch
from talkies.service.errors import BlockedAddressError
from talkies.service.settings import Settings

KEY = "fuzz-key"
REQUEST_BOUND_S = 10.0  # every request must be answered within this


@dataclass
class Tally:
    cases: int = 0
    server_errors: list[str] = field(default_factory=list)
    slowest_s: float = 0.0
    hangs: list[str] = field(default_factory=list)
    forbidden_accepted: list[str] = field(default_factory=list)
    leftover_temp_files: list[str] = field(default_factory=list)
    api_peak_rss_growth_mb: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)

    def record(self, label: str, status: int, elapsed_s: float) -> None:
        self.cases += 1
        self.slowest_s = max(self.slowest_s, elapsed_s)
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
        if status >= 500:
            self.server_errors.append(f"{label} -> {status}")
        if elapsed_s > REQUEST_BOUND_S:
            self.hangs.append(f"{label} took {elapsed_s:.1f} s")


TALLY = Tally()


def _loopback_only(self: fetch.Guard, host: str, address: str) -> None:
    if address != "127.0.0.1":
        raise BlockedAddressError(f"{host} ({address}): the fuzzing suite reaches 127.0.0.1 only")


def _resolve_nothing(host: str, port: int) -> list[str]:
    if host == "localhost":
        return ["127.0.0.1"]
    raise OSError(f"the fuzzing suite resolves no names ({host})")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


@dataclass(frozen=True)
class FuzzServer:
    url: str
    settings: Settings


@pytest.fixture(scope="module")  # module: the guard patch must not outlive the schema fuzzing
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzServer]:
    import uvicorn

    from talkies.service.app import create_app

    patch = pytest.MonkeyPatch()
    patch.setattr(fetch.Guard, "check_address", _loopback_only)
    patch.setattr(fetch, "resolve", _resolve_nothing)
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz"),
        api_keys=(KEY,),
        workers=0,
        max_data_uri_bytes=1 << 20,
        max_upload_bytes=2 << 20,
        maintenance_interval_s=0.2,
        webhook_backoff_s=0.1,
        webhook_attempts=2,
    )
    port = _free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    rss_before = _peak_rss_kb()
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the fuzz server did not start"
    yield FuzzServer(f"http://127.0.0.1:{port}", settings)
    server.should_exit = True
    thread.join(15)
    patch.undo()
    TALLY.api_peak_rss_growth_mb = (_peak_rss_kb() - rss_before) / 1024
    scratch = settings.data_dir / "tmp"  # (uploads/ holds initiated uploads: state, not litter)
    if scratch.exists():
        TALLY.leftover_temp_files += [p.name for p in scratch.iterdir()]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY.cases:
        return
    figures = asdict(TALLY)
    terminalreporter.section("fuzzing figures (issue 14)")
    for name, value in figures.items():
        shown = value if not isinstance(value, list) else (len(value), value[:5])
        terminalreporter.line(f"{name}: {shown}")
    target = os.environ.get("TALKIES_FUZZ_REPORT")
    if target:
        Path(target).write_text(json.dumps(figures, indent=2))
