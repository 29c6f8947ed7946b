"""mypy over govarc/ (STYLE.md: typed, with py.typed shipped)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_is_clean():
    result = subprocess.run([sys.executable, "-m", "mypy", "govarc"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_py_typed_is_shipped():
    assert (ROOT / "govarc" / "py.typed").is_file()
