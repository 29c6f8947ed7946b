"""Hostile drop folders for the ingest tests: metadata carriers and the paths they can name."""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from govarc.catalog.db import open_catalog
from govarc.package.metadata import NS
from tests.citykit import make_pdf

META = {"题名": "关于印发方案的通知", "责任者": "柳州市人民政府", "保管期限": "Y", "密级": "公开", "日期": "2024-03-05"}


def doc(folder: Path, name: str = "doc.pdf") -> Path:
    """A real one-page PDF official document."""
    return make_pdf(folder / name, "柳政发〔2024〕5号", "关于印发方案的通知", "2024年3月5日")


def sidecar_json(path: Path, meta: dict[str, Any] | None = None, **extra: Any) -> Path:
    path.write_text(json.dumps({**META, **(meta or {}), **extra}, ensure_ascii=False), encoding="utf-8")
    return path


def sidecar_xml(path: Path, attachments: Sequence[str] = (), bom: bool = False, **fields: str) -> Path:
    values = {"title": META["题名"], "issuer": META["责任者"], "date": META["日期"], "classification": "公开",
              "retention": "Y", **fields}
    body = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in values.items())
    files = "".join(f'<file role="attachment"><name>{escape(a)}</name></file>' for a in attachments)
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<record xmlns="{NS}">{body}'
    xml += f"<files>{files}</files>" if files else ""
    xml += "</record>\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + xml.encode("utf-8"))
    return path


REGISTER_HEADER = ["文件名", "题名", "责任者", "保管期限", "密级", "日期", "附件"]


def register_row(file: str, attachments: str = "") -> list[str]:
    return [file, META["题名"], META["责任者"], "Y", "公开", META["日期"], attachments]


def register_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(REGISTER_HEADER)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def register_xlsx(path: Path, rows: list[list[str]]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(REGISTER_HEADER)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def describe(carrier: str, folder: Path, main: str, attachments: list[str]) -> None:
    """Describe ``folder/main`` with its ``attachments`` by a carrier: json, xml, csv or xlsx."""
    stem = main.rsplit(".", 1)[0]
    if carrier == "json":
        sidecar_json(folder / f"{stem}.json", 附件=attachments)
    elif carrier == "xml":
        sidecar_xml(folder / f"{stem}.xml", attachments)
    elif carrier == "csv":
        register_csv(folder / "register.csv", [register_row(main, ";".join(attachments))])
    else:
        register_xlsx(folder / "register.xlsx", [register_row(main, ";".join(attachments))])


def can_mknod() -> bool:
    """Whether this process may create a character device (root in most containers)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        try:
            os.mknod(os.path.join(d, "null"), stat.S_IFCHR | 0o600, os.makedev(1, 3))
        except (PermissionError, OSError):
            return False
        return True


def make_socket(path: Path) -> None:
    """A unix socket bound at ``path`` (left bound: the file stays a socket)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(str(path))
    finally:
        s.close()


@dataclass(frozen=True)
class Hostile:
    """A name a carrier can put in metadata, the file-system objects behind it, and the refusal."""

    id: str
    make: Callable[[Path, Path, Path], str]  # (drop, outside, workspace home) -> the name to write
    code: str
    offending: Callable[[Path, Path, Path], str]  # the path the refusal must name


def _secret(home: Path) -> Path:
    p = home / "keys" / "passphrase.txt"
    p.parent.mkdir(parents=True, exist_ok=True)
    if not p.exists():
        p.write_text("workspace-secret-passphrase\n", encoding="utf-8")
    return p


def _outside(outside: Path) -> Path:
    outside.mkdir(parents=True, exist_ok=True)
    p = outside / "x.pdf"
    if not p.exists():
        doc(outside, "x.pdf")
    return p


def _link_out(drop: Path, outside: Path, home: Path) -> str:
    os.symlink(_outside(outside), drop / "link.pdf")
    return "link.pdf"


def _link_in(drop: Path, outside: Path, home: Path) -> str:
    doc(drop, ".real.pdf")  # hidden: not a document of its own
    os.symlink(".real.pdf", drop / "alias.pdf")
    return "alias.pdf"


def _linked_parent(drop: Path, outside: Path, home: Path) -> str:
    _outside(outside)
    os.symlink(outside, drop / "sub")
    return "sub/x.pdf"


def _fifo(drop: Path, outside: Path, home: Path) -> str:
    os.mkfifo(drop / "pipe.pdf")
    return "pipe.pdf"


def _socket(drop: Path, outside: Path, home: Path) -> str:
    make_socket(drop / "sock.pdf")
    return "sock.pdf"


def _device(drop: Path, outside: Path, home: Path) -> str:
    os.mknod(drop / "null.pdf", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    return "null.pdf"


def _secret_name(drop: Path, outside: Path, home: Path) -> str:
    return str(_secret(home))


def _dotdot(drop: Path, outside: Path, home: Path) -> str:
    _outside(drop.parent)
    return "../x.pdf"


def _deep_dotdot(drop: Path, outside: Path, home: Path) -> str:
    _outside(drop.parent)
    (drop / "a").mkdir(exist_ok=True)
    return "a/../../x.pdf"


def _backslash_dotdot(drop: Path, outside: Path, home: Path) -> str:
    _outside(drop.parent)
    return "..\\x.pdf"


HOSTILE = [
    Hostile("absolute-secret", _secret_name, "INGEST_UNSAFE_PATH", lambda d, o, h: str(_secret(h))),
    Hostile("dotdot", _dotdot, "INGEST_UNSAFE_PATH", lambda d, o, h: str(d / "../x.pdf")),
    Hostile("nested-dotdot", _deep_dotdot, "INGEST_UNSAFE_PATH", lambda d, o, h: str(d / "a/../../x.pdf")),
    Hostile("windows-dotdot", _backslash_dotdot, "INGEST_UNSAFE_PATH", lambda d, o, h: str(d / "..\\x.pdf")),
    Hostile("link-to-outside", _link_out, "INGEST_LINK", lambda d, o, h: str(d / "link.pdf")),
    Hostile("link-inside", _link_in, "INGEST_LINK", lambda d, o, h: str(d / "alias.pdf")),
    Hostile("linked-parent", _linked_parent, "INGEST_LINK", lambda d, o, h: str(d / "sub")),
    Hostile("fifo", _fifo, "INGEST_NOT_REGULAR", lambda d, o, h: str(d / "pipe.pdf")),
    Hostile("socket", _socket, "INGEST_NOT_REGULAR", lambda d, o, h: str(d / "sock.pdf")),
] + ([Hostile("device", _device, "INGEST_NOT_REGULAR", lambda d, o, h: str(d / "null.pdf"))] if can_mknod() else [])


def catalog_rows(ws: Any) -> list[tuple[str, str]]:
    """(archival code, source) of every record, and of every file."""
    with open_catalog(ws.catalog_path) as cat:
        return cat.conn.execute(
            "SELECT r.archival_code, f.source FROM records r JOIN record_files f ON f.record_id = r.id ORDER BY r.id, f.position"
        ).fetchall()


def objects(ws: Any) -> list[str]:
    return sorted(p.name for p in ws.objects_dir.rglob("*") if p.is_file())
