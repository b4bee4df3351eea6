"""The README's Python example runs as written, in an empty folder, with the real engines."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Use from Python") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README's 'Use from Python' section has no python example"
    return match.group(1)


@pytest.mark.engine
@pytest.mark.usefixtures("real_engines")
def test_the_python_example_runs_in_an_empty_folder(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", python_example()], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("0 ") and "True" in lines
    assert lines[-2] == "out/evening.mp3 180000"
    assert lines[-1] == "180000"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["evening.lrc", "evening.mp3", "evening.vtt"]
