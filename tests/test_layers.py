"""The layers of STYLE.md, checked on the imports of every module (top level and inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOVARC = ROOT / "govarc"

# package/pending.py still reads the object store through govarc.ingest.pipeline.object_path; it moves
# to govarc.store with the store part of issue #8. Remove the entry then: the test fails while it is stale.
PACKAGE_IMPORTS_INGEST = {"pending.py"}


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


def test_package_imports_nothing_from_ingest() -> None:
    offenders = {p.name for p in (GOVARC / "package").glob("*.py")
                 if any(_under(n, "govarc.ingest") for n in imports(p))}
    assert offenders == PACKAGE_IMPORTS_INGEST, (
        f"govarc/package/ must import nothing from govarc/ingest/: {sorted(offenders - PACKAGE_IMPORTS_INGEST)}; "
        f"no longer importing it (remove from PACKAGE_IMPORTS_INGEST): {sorted(PACKAGE_IMPORTS_INGEST - offenders)}")


def test_package_and_sign_import_neither_cli_nor_workflows() -> None:
    for folder in ("package", "sign"):
        for p in (GOVARC / folder).glob("*.py"):
            bad = {n for n in imports(p) for top in ("govarc.cli", "govarc.nightly", "govarc.transport")
                   if _under(n, top)}
            assert not bad, f"{p.relative_to(ROOT)} imports {sorted(bad)}"


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
