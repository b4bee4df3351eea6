"""The house by stage: imports flow one way, no module shadows the standard library, the API is complete."""

from __future__ import annotations

import sys
from pathlib import Path

import footaudio

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "footaudio"


def test_import_contracts_hold():
    """script <- speech <- audio <- pipeline <- sets <- cli, and nothing imports the package __init__."""
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_no_module_is_named_after_a_standard_library_module():
    names = {path.stem for path in PACKAGE.rglob("*.py")} | {path.name for path in PACKAGE.iterdir() if path.is_dir()}
    assert sorted(names & set(sys.stdlib_module_names)) == []


def test_every_stage_has_its_own_folder():
    folders = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()}
    assert {"script", "speech", "audio", "sets"} <= folders


def test_the_public_api_is_documented():
    for name in footaudio.__all__:
        member = getattr(footaudio, name)
        if callable(member):
            assert (member.__doc__ or "").strip(), f"footaudio.{name} has no docstring"
