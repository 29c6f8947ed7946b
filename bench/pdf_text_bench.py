#!/usr/bin/env python3
"""Compare first-page text extraction of pypdf (what ingest uses) with pypdfium2 on folders of PDFs.

For each folder: CPU milliseconds per file (median of --repeat passes) for pypdf's parse alone,
pypdf's parse + first-page text (as govarc.ingest.readers.pdf reads it) and pypdfium2's open +
first-page text; then whether both find the same 发文字号 and 成文日期 in that text, and which files
each refuses (cannot open, encrypted). pypdfium2 is not a govarc dependency: `pip install pypdfium2`.

    .venv/bin/python bench/pdf_text_bench.py samples/drop samples/bad bench/out/nightly/corpus-n1000-a4-v1
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from govarc.ingest.text import find_date, find_document_number  # noqa: E402

Result = tuple[str, str | None]  # ("ok" | "encrypted" | "refused: …", text)


def pypdf_parse(data: bytes) -> Result:
    from pypdf import PdfReader

    try:
        r = PdfReader(io.BytesIO(data), strict=False)
        if r.is_encrypted:
            return "encrypted", None
        len(r.pages)
    except Exception as e:  # noqa: BLE001 - a bench: every failure is a refusal
        return f"refused: {type(e).__name__}", None
    return "ok", None


def pypdf_text(data: bytes) -> Result:
    from pypdf import PdfReader

    try:
        r = PdfReader(io.BytesIO(data), strict=False)
        if r.is_encrypted:
            return "encrypted", None
        return "ok", (r.pages[0].extract_text() or "") if len(r.pages) else ""
    except Exception as e:  # noqa: BLE001 - as above
        return f"refused: {type(e).__name__}", None


def pdfium_text(data: bytes) -> Result:
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        return ("encrypted" if "password" in str(e).lower() else "refused: PdfiumError"), None
    try:
        if len(doc) == 0:
            return "ok", ""
        page = doc[0]
        textpage = page.get_textpage()
        text = textpage.get_text_bounded()
        textpage.close()
        page.close()
        return "ok", text
    except pdfium.PdfiumError:
        return "refused: PdfiumError", None
    finally:
        doc.close()


def cpu_ms(fn: Callable[[bytes], Result], datas: list[bytes], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.process_time()
        for d in datas:
            fn(d)
        runs.append((time.process_time() - started) / max(1, len(datas)) * 1000)
    return statistics.median(runs)


def fields(r: Result) -> tuple[str, str | None, str | None]:
    status, text = r
    if text is None:
        return status, None, None
    d = find_date(text)
    return status, find_document_number(text), d.isoformat() if d else None


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("folders", nargs="+", type=Path)
    p.add_argument("--limit", type=int, default=500, help="PDFs per folder at most (default 500)")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    try:
        import pypdfium2  # noqa: F401
    except ImportError:
        sys.exit("pypdfium2 is not installed: .venv/bin/pip install pypdfium2")
    print(f"{'folder':<40} {'PDFs':>5} {'pypdf parse':>12} {'pypdf text':>11} {'pdfium text':>12} "
          f"{'same fields':>12} {'same refusals':>14}")
    for folder in args.folders:
        files = sorted(folder.rglob("*.pdf"))[: args.limit]
        datas = [f.read_bytes() for f in files if f.is_file() and not f.is_symlink()]
        a = [fields(pypdf_text(d)) for d in datas]
        b = [fields(pdfium_text(d)) for d in datas]
        ok = [i for i in range(len(datas)) if a[i][0] == "ok" and b[i][0] == "ok"]
        same = sum(1 for i in ok if a[i][1:] == b[i][1:])
        refusals = sum(1 for x, y in zip(a, b) if (x[0] == "ok") == (y[0] == "ok"))
        print(f"{str(folder)[-40:]:<40} {len(datas):>5} {cpu_ms(pypdf_parse, datas, args.repeat):>9.2f} ms "
              f"{cpu_ms(pypdf_text, datas, args.repeat):>8.2f} ms {cpu_ms(pdfium_text, datas, args.repeat):>9.2f} ms "
              f"{same:>5}/{len(ok):<6} {refusals:>6}/{len(datas):<7}")
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                print(f"    {files[i].name}: pypdf {x}  pdfium {y}")


if __name__ == "__main__":
    main()
