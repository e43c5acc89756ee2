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


def test_the_portrait_rig_is_typed_and_frozen() -> None:
    """face hands render a typed contract: no field of PortraitRig is a free-form dict, and
    nothing can write into one (render keeps its own cache, render.puppet)."""
    import dataclasses

    from talkies.tracks import PortraitRig

    assert PortraitRig.__dataclass_params__.frozen  # type: ignore[attr-defined]
    for f in dataclasses.fields(PortraitRig):
        assert "Any" not in str(f.type) and str(f.type) != "dict", f"PortraitRig.{f.name}: {f.type}"


def test_render_and_face_share_only_the_contracts() -> None:
    for stage, other in (("render", "talkies.face"), ("face", "talkies.render")):
        for path in _modules(stage):
            for name in _talkies_imports(path):
                assert not name.startswith(other), f"{path.relative_to(PACKAGE.parent)} imports {name}"
            assert "extras" not in path.read_text(), (
                f"{path.relative_to(PACKAGE.parent)} uses an untyped side door"
            )
