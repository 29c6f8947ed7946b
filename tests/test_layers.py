"""The layers of STYLE.md, checked on the imports of every module (top level and inside functions)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOVARC = ROOT / "govarc"

def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, as dotted names (relative imports resolved within govarc)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


def _under(name: str, top: str) -> bool:
    return name == top or name.startswith(top + ".")


def test_imports_sees_function_level_and_relative_imports() -> None:
    probe = GOVARC / "package" / "verify.py"
    found = imports(probe)
    assert "govarc.findings" in found and "govarc.package.reader" in found
    assert not any(_under(n, "click") for n in found)


# Which parts of govarc each folder must never import (STYLE.md, "The house as it grows").
FORBIDDEN = {
    "package": ("govarc.catalog", "govarc.store", "govarc.ingest", "govarc.jobs", "govarc.transport",
                "govarc.archiving", "govarc.cli"),
    "sign": ("govarc.catalog", "govarc.store", "govarc.ingest", "govarc.jobs", "govarc.transport",
             "govarc.archiving", "govarc.cli"),
    "catalog": ("govarc.package", "govarc.ingest", "govarc.store", "govarc.jobs", "govarc.archiving", "govarc.cli"),
    "store": ("govarc.catalog", "govarc.ingest", "govarc.jobs", "govarc.archiving", "govarc.cli"),
    "transport": ("govarc.package", "govarc.catalog", "govarc.ingest", "govarc.store", "govarc.jobs",
                  "govarc.archiving", "govarc.cli"),
}


def offenders(folder: str) -> dict[str, list[str]]:
    """Each module below ``govarc/<folder>/`` that imports a part ``folder`` must not, with those imports."""
    found = {}
    for p in sorted((GOVARC / folder).rglob("*.py")):
        bad = sorted(n for n in imports(p) for top in FORBIDDEN[folder] if _under(n, top))
        if bad:
            found[str(p.relative_to(ROOT))] = bad
    return found


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_each_part_imports_only_what_it_may(folder: str) -> None:
    assert offenders(folder) == {}


def test_the_check_catches_a_forbidden_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module of package/ importing the catalog (here, a probe written for the test) is found."""
    fake = tmp_path / "govarc"
    (fake / "package").mkdir(parents=True)
    (fake / "package" / "probe.py").write_text("def f():\n    from ..catalog.db import Catalog\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "GOVARC", fake)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert offenders("package") == {"govarc/package/probe.py": ["govarc.catalog.db", "govarc.catalog.db.Catalog"]}


def test_only_the_cli_imports_click_or_rich() -> None:
    offenders = {}
    for p in GOVARC.rglob("*.py"):
        if (GOVARC / "cli") in p.parents:
            continue
        bad = sorted(n for n in imports(p) if _under(n, "click") or _under(n, "rich"))
        if bad:
            offenders[str(p.relative_to(ROOT))] = bad
    assert not offenders, f"only govarc/cli/ may import click or rich: {offenders}"


def test_domain_imports_only_errors() -> None:
    """The domain types are pure: they know no workspace, package format, catalog or CLI."""
    govarc = {n for n in imports(GOVARC / "domain.py") if _under(n, "govarc")}
    assert govarc <= {"govarc.errors", "govarc.errors.MetadataError"}
