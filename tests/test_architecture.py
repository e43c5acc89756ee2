"""Dependency direction, checked mechanically: stages talk only through the contract types.

- A stage (media, face, audio, motion, render) may import the contracts (tracks, errors,
  options), the shared process plumbing (forking) and its own private modules, never another
  stage, the pipeline or an adapter.
- The library never imports the adapters (cli, service).
- The service's web, queue and storage libraries (fastapi, starlette, uvicorn, huey, redis,
  boto3) are imported only under talkies/service; the service reaches the engine only through
  its public face (the package root, errors, options, formats), never a stage.
- No import cycles among talkies modules, counting imports inside functions (which hide a loop
  from a reader but not from the interpreter) and the package __init__ that importing a
  submodule runs.

Every check is a function of a package folder, so the planted-violation tests at the bottom
can show that each one fails on a package that breaks its rule.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "talkies"
STAGES = ["media", "face", "audio", "motion", "render"]
CONTRACTS = {
    "talkies.tracks",
    "talkies.errors",
    "talkies.options",
    "talkies.curves",
    "talkies.phones",
    "talkies.formats",
}
# Plumbing, not a stage: helper processes (audio's speech analysis, render's frame drawers).
PLUMBING = {"talkies.forking"}
SERVICE_ONLY = ("fastapi", "starlette", "uvicorn", "huey", "redis", "boto3")
ENGINE_FACE = {
    "talkies",
    "talkies.errors",
    "talkies.options",
    "talkies.formats",
    "talkies.live",  # live mode's public face (the package, not its modules)
}  # what the service may import


def module_name(package: Path, path: Path) -> str:
    parts = [package.name, *path.relative_to(package).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(package: Path, path: Path) -> set[str]:
    """Every module `path` imports, at any depth of the file (functions included), relative
    imports resolved; for `from X import y`, X.y when that is a module of the package."""
    name = module_name(package, path)
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(here[: len(here) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names}
    return found


def modules(package: Path) -> dict[str, Path]:
    return {module_name(package, p): p for p in sorted(package.rglob("*.py"))}


def _ours(package: Path, names: set[str], known: dict[str, Path]) -> set[str]:
    return {n for n in names if n in known or n == package.name}


def stage_violations(package: Path) -> list[str]:
    """Stage modules that import another stage, the pipeline or an adapter."""
    known, bad = modules(package), []
    contracts = {c.replace("talkies", package.name, 1) for c in CONTRACTS | PLUMBING}
    for stage in STAGES:
        own = f"{package.name}.{stage}"
        for name, path in known.items():
            if name != own and not name.startswith(own + "."):
                continue
            for imported in _ours(package, imports_of(package, path), known):
                if not (imported in contracts or imported == own or imported.startswith(own + ".")):
                    bad.append(f"{name} imports {imported}")
    return bad


def adapter_violations(package: Path) -> list[str]:
    """Library modules that import the command line or the service."""
    known, bad = modules(package), []
    adapters = (f"{package.name}.cli", f"{package.name}.__main__", f"{package.name}.service")
    for name, path in known.items():
        if name.startswith(adapters):
            continue
        bad += [f"{name} imports {i}" for i in imports_of(package, path) if i.startswith(adapters)]
    return bad


def service_violations(package: Path) -> list[str]:
    """fastapi & co. outside the service; the service importing anything of the engine but its
    public face."""
    known, bad = modules(package), []
    service = f"{package.name}.service"
    face = {f.replace("talkies", package.name, 1) for f in ENGINE_FACE}
    for name, path in known.items():
        imported = imports_of(package, path)
        inside = name == service or name.startswith(service + ".")
        if not inside:
            bad += [f"{name} imports {i}" for i in imported if i.split(".")[0] in SERVICE_ONLY]
            continue
        for i in _ours(package, imported, known):
            if not (i in face or i == service or i.startswith(service + ".")):
                bad.append(f"{name} imports {i}")
    return bad


def import_cycles(package: Path) -> list[list[str]]:
    """Strongly connected groups of modules (Tarjan) in the import graph, where importing a
    submodule also runs its parent packages (but not the importer's own)."""
    known = modules(package)
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        own = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
        edges = set()
        for i in _ours(package, imports_of(package, path), known):
            parents = {".".join(i.split(".")[:k]) for k in range(1, i.count(".") + 2)}
            edges |= {p for p in parents if p in known and p not in own and p != name}
        graph[name] = edges
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return groups


# --- the package ---------------------------------------------------------------------------------


def test_stages_import_only_contracts_and_themselves() -> None:
    assert all((PACKAGE / s).exists() or (PACKAGE / f"{s}.py").exists() for s in STAGES)
    assert stage_violations(PACKAGE) == []


def test_library_does_not_import_adapters() -> None:
    assert adapter_violations(PACKAGE) == []


def test_service_libraries_stay_in_the_service_and_it_uses_only_the_public_engine() -> None:
    assert service_violations(PACKAGE) == []


def test_no_import_cycles_even_through_function_level_imports() -> None:
    assert import_cycles(PACKAGE) == []


def test_the_portrait_rig_is_typed_and_frozen() -> None:
    """face hands render a typed contract: no field of PortraitRig is a free-form dict, and
    nothing can write into one (render keeps its own cache, render.puppet)."""
    from talkies.tracks import PortraitRig

    assert PortraitRig.__dataclass_params__.frozen  # type: ignore[attr-defined]
    for f in dataclasses.fields(PortraitRig):
        assert "Any" not in str(f.type) and str(f.type) != "dict", f"PortraitRig.{f.name}: {f.type}"


def test_render_and_face_share_only_the_contracts() -> None:
    for stage in ("render", "face"):
        for path in (PACKAGE / stage).rglob("*.py"):
            assert "extras" not in path.read_text(), f"{path.name} uses an untyped side door"
    # (that neither imports the other is test_stages_import_only_contracts_and_themselves)


# --- each check fails on a package that breaks its rule --------------------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "talkies"
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if path.parent != root and not (path.parent / "__init__.py").exists():
            (path.parent / "__init__.py").write_text("")
    return root


@pytest.mark.parametrize(
    ("files", "check", "expected"),
    [
        (  # a stage reaching into another one inside a function
            {"render/__init__.py": "def f():\n    from talkies.face import mesh\n", "face/mesh.py": ""},
            stage_violations,
            "talkies.render imports talkies.face",
        ),
        (  # the library importing the service
            {"pipeline.py": "from talkies.service import app\n", "service/app.py": ""},
            adapter_violations,
            "talkies.pipeline imports talkies.service",
        ),
        (  # fastapi outside the service
            {"media/__init__.py": "import fastapi\n"},
            service_violations,
            "talkies.media imports fastapi",
        ),
        (  # the service using a stage instead of the public API
            {"service/inputs.py": "from talkies.media import sound\n", "media/sound.py": ""},
            service_violations,
            "talkies.service.inputs imports talkies.media",
        ),
    ],
)
def test_each_rule_fails_on_a_planted_violation(tmp_path: Path, files, check, expected: str) -> None:
    found = check(_package(tmp_path, files))
    assert any(line.startswith(expected) for line in found), found


def test_a_loop_hidden_in_a_function_level_import_is_a_cycle(tmp_path: Path) -> None:
    # errors imports the store's base module, which runs store/__init__, whose function
    # imports errors: the loop main had between service/errors.py and service/store/
    root = _package(
        tmp_path,
        {
            "service/errors.py": "from talkies.service.store.base import Outcome\n",
            "service/store/__init__.py": "def open_store():\n    from talkies.service.errors import X\n",
            "service/store/base.py": "Outcome = 1\n",
        },
    )
    assert import_cycles(root) == [["talkies.service.errors", "talkies.service.store"]]
