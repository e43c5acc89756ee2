"""Dependency direction, checked mechanically: stages talk only through the contract types.

A stage (media, face, audio, motion, render) may import the contracts (tracks, errors, options)
and its own private modules, never another stage, the pipeline or an adapter. The library never
imports the adapters (cli, service).
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "talkies"
STAGES = ["media", "face", "audio", "motion", "render"]
CONTRACTS = {"talkies.tracks", "talkies.errors", "talkies.options"}


def _modules(stage: str) -> list[Path]:
    single = PACKAGE / f"{stage}.py"
    return [single] if single.exists() else sorted((PACKAGE / stage).rglob("*.py"))


def _talkies_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("talkies")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("talkies"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if node.module == "talkies"}
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_stage_imports_only_contracts_and_itself(stage: str) -> None:
    paths = _modules(stage)
    assert paths, f"stage {stage} has no module"
    own = f"talkies.{stage}"
    for path in paths:
        for name in _talkies_imports(path):
            allowed = name in CONTRACTS or name == own or name.startswith(own + ".")
            assert allowed, f"{path.relative_to(PACKAGE.parent)} imports {name}"


def test_library_does_not_import_adapters() -> None:
    adapters = ("cli.py", "__main__.py")  # the command line's own entry points
    library = [p for p in PACKAGE.rglob("*.py") if p.name not in adapters and "service" not in p.parts]
    for path in library:
        for name in _talkies_imports(path):
            assert not name.startswith(("talkies.cli", "talkies.service")), f"{path} imports {name}"
