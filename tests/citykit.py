"""Small real inputs for ingest tests: one-page Chinese official-document PDFs with sidecars."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))


def make_pdf(path: Path, number: str, title: str, date_text: str, body: str = "特此通知。") -> Path:
    """A one-page GB/T 9704-like PDF whose text pypdf can extract."""
    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), invariant=1)
    c.setFont("STSong-Light", 22)
    c.drawString(150, 760, "柳州市人民政府文件")
    c.setFont("STSong-Light", 14)
    c.drawString(220, 720, number)
    c.drawString(100, 680, title)
    c.drawString(100, 640, body)
    c.drawString(330, 560, date_text)
    c.save()
    return path


def make_doc(folder: Path, i: int, *, prefix: str = "柳政发", year: int = 2024, sidecar: dict[str, Any] | None = None,
             retention: str = "Y") -> Path:
    """Document ``i`` with a JSON sidecar; ``sidecar`` overrides or adds fields."""
    number = f"{prefix}〔{year}〕{i}号"
    pdf = make_pdf(folder / f"{number}.pdf", number, f"关于第{i}项工作的通知", f"{year}年3月{(i % 28) + 1}日")
    meta: dict[str, Any] = {"题名": f"关于第{i}项工作的通知", "责任者": "柳州市人民政府", "保管期限": retention, "密级": "公开"}
    meta.update(sidecar or {})
    meta = {k: v for k, v in meta.items() if v is not None}
    (folder / f"{number}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return pdf


def make_city(root: Path, n: int = 6, *, unsigned: bool = True) -> Path:
    """A one-agency city with ``n`` documents; returns the city.toml.

    ``unsigned``: the agency may be packaged without a key (else packaging it without one is refused).
    """
    drop = root / "drop" / "SZF"
    for i in range(1, n + 1):
        make_doc(drop, i, retention="Y" if i % 2 else "D30")
    city = root / "city.toml"
    city.write_text(
        '[[agency]]\ncode = "SZF"\nname = "柳州市人民政府办公室"\nfonds = "0012"\nunit = "BGS"\ndrop = "drop/SZF"\n'
        + ("unsigned = true\n" if unsigned else ""),
        encoding="utf-8",
    )
    return city


def ingest_into(ws: Any, *paths: Path, agency: Any = None, workers: int = 1) -> Any:
    """Ingest ``paths`` into workspace ``ws`` for ``agency`` (default SZF); the IngestReport."""
    from govarc.catalog.db import open_catalog
    from govarc.ingest.pipeline import ingest

    with open_catalog(ws.catalog_path) as cat:
        return ingest(cat, ws.objects, agency or ws.agency("SZF"), [Path(p) for p in paths], workers=workers)
