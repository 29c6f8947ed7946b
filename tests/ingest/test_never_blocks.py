"""Special files never hang a run (issue 7, item 2), and worker processes ignore the current folder (item 6).

Each run is a real ``govarc`` subprocess with a timeout: a FIFO opened for reading, or handed to
libmagic, would block it forever (and ``nightly`` would hold the workspace lock meanwhile).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.citykit import make_doc
from tests.ingest.hostile import catalog_rows, doc, make_socket, sidecar_json

TIMEOUT = 120  # far more than a run needs; a blocked run would never end


def govarc(home: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # The entry point script, as cron runs it (not ``python -m``, which puts the current folder on sys.path).
    exe = Path(sys.executable).with_name("govarc")
    return subprocess.run([str(exe), "--home", str(home), *args], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=cwd)


def _fifo_drop(drop: Path) -> list[Path]:
    """A drop folder with one good document and a FIFO in every place an input can be; the FIFOs."""
    make_doc(drop, 1)
    fifos = [drop / n for n in ("fifo-doc.pdf", "a.json", "b.xml", "附件1.pdf", "register.xlsx", "orphan.pdf")]
    for f in fifos:
        os.mkfifo(f)
    sidecar_json(drop / "fifo-doc.json")  # a document that is a FIFO
    doc(drop, "a.pdf")  # a JSON sidecar that is a FIFO
    doc(drop, "b.pdf")  # an XML sidecar that is a FIFO
    doc(drop, "c.pdf")
    sidecar_json(drop / "c.json", 附件=["附件1.pdf"])  # an attachment that is a FIFO
    # register.xlsx: a register that is a FIFO; orphan.pdf: format identification must not open it
    return fifos


def test_ingest_refuses_fifos_everywhere_and_finishes(ws, tmp_path):
    drop = tmp_path / "drop" / "SZF"
    fifos = _fifo_drop(drop)
    r = govarc(ws.home, "ingest", "--agency", "SZF", str(drop))
    assert r.returncode == 3, r.stderr
    for fifo in fifos:
        assert f"{fifo}: INGEST_NOT_REGULAR:" in r.stderr
    assert "Traceback" not in r.stderr
    assert len(catalog_rows(ws)) == 1  # the good document


def test_nightly_refuses_fifos_everywhere_and_finishes(ws, tmp_path):
    drop = tmp_path / "drop" / "SZF"  # the agency's configured drop folder
    fifos = _fifo_drop(drop)
    r = govarc(ws.home, "nightly")
    assert r.returncode != 0
    for fifo in fifos:
        assert f"{fifo}: INGEST_NOT_REGULAR:" in r.stderr
    assert "Traceback" not in r.stderr
    assert len(catalog_rows(ws)) == 1


def test_a_socket_and_a_fifo_named_on_the_command_line(ws, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "a.pdf")
    make_socket(folder / "b.pdf")
    r = govarc(ws.home, "ingest", "--agency", "SZF", str(folder / "a.pdf"), str(folder / "b.pdf"))
    assert r.returncode == 3
    assert f"{folder / 'a.pdf'}: INGEST_NOT_REGULAR: is a FIFO" in r.stderr
    assert f"{folder / 'b.pdf'}: INGEST_NOT_REGULAR: is a socket" in r.stderr


def test_formats_identify_file_refuses_a_fifo(tmp_path):
    from govarc.formats import identify_file
    from govarc.fsutil import InputKind, UnsafeInputError

    os.mkfifo(tmp_path / "x.pdf")
    with pytest.raises(UnsafeInputError) as e:
        identify_file(tmp_path / "x.pdf")
    assert e.value.kind is InputKind.NOT_REGULAR


# -- item 6: the current folder -----------------------------------------------------------------


def _poisoned_cwd(tmp_path: Path) -> Path:
    """A folder holding a ``govarc`` package (and an ``lxml``) that must never be imported."""
    cwd = tmp_path / "srv"
    for name in ("govarc", "lxml", "pypdf"):
        (cwd / name).mkdir(parents=True)
        (cwd / name / "__init__.py").write_text(f'raise RuntimeError("the {name} of the current folder was imported")\n')
    return cwd


def test_the_ingest_pool_ignores_a_govarc_folder_in_the_current_folder(ws, tmp_path):
    drop = tmp_path / "in"
    for i in range(1, 11):
        make_doc(drop, i)
    toml = ws.home / "govarc.toml"
    text = toml.read_text(encoding="utf-8")
    assert "workers = 0" in text
    toml.write_text(text.replace("workers = 0", "workers = 2", 1), encoding="utf-8")  # a pool of 2
    r = govarc(ws.home, "ingest", "--agency", "SZF", str(drop), cwd=_poisoned_cwd(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "current folder was imported" not in r.stderr and "Traceback" not in r.stderr
    assert len(catalog_rows(ws)) == 10


def test_nightly_from_a_folder_holding_govarc(tmp_path):
    from govarc.admin import init_workspace
    from tests.citykit import make_city

    city = make_city(tmp_path, n=9)
    ws, _ = init_workspace(tmp_path / "home", city)
    r = govarc(ws.home, "nightly", cwd=_poisoned_cwd(tmp_path))
    assert "current folder was imported" not in r.stderr and "Traceback" not in r.stderr
    assert len(catalog_rows(ws)) == 9


def test_the_pool_itself_from_a_poisoned_cwd(ws, tmp_path):
    """The library call (not only the CLI): prepare_all on a pool of 2 workers from such a folder."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from govarc.ingest.sources import discover\n"
        "from govarc.ingest.prepare import prepare_all\n"
        "from govarc.workspace import Workspace\n"
        "if __name__ == '__main__':\n"
        "    ws = Workspace.open(Path(sys.argv[1]))\n"
        "    out = prepare_all(discover([Path(sys.argv[2])]), ws.agency('SZF'), workers=2)\n"
        "    print(sum(not p.refused for p in out))\n"
    )
    drop = tmp_path / "in"
    for i in range(1, 9):
        make_doc(drop, i)
    script = tmp_path / "run_pool.py"
    script.write_text(code, encoding="utf-8")
    # ``python script.py`` puts the script's folder first on sys.path, not the current folder
    r = subprocess.run([sys.executable, str(script), str(ws.home), str(drop)], capture_output=True, text=True,
                       timeout=TIMEOUT, cwd=_poisoned_cwd(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "8"
