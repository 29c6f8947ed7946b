"""The bad inputs: one folder per finding code under bad/, each document broken in one way.

What each case does is data (``[[bad]]`` in corpus.toml); how a file is broken is here.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from .city import write
from .corpus import BadCase, City
from .metadata import RECORD_NS, json_bytes
from .pdf import make_pdf
from .scans import make_jpeg


def _rewrite(data: bytes, change: Callable[[object], None]) -> bytes:
    """``data`` run through pypdf with ``change`` applied, keeping the file ID fixed."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject

    reader = PdfReader(io.BytesIO(data))
    writer = PdfWriter(clone_from=reader)
    change(writer)
    first = reader.trailer["/ID"][0]  # type: ignore[index]
    writer._ID = ArrayObject([first, first])  # pypdf would add a random second ID
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _open_action(javascript: str) -> Callable[[object], None]:
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    def change(w: object) -> None:
        assert isinstance(w, PdfWriter)
        w._root_object[NameObject("/OpenAction")] = DictionaryObject({
            NameObject("/Type"): NameObject("/Action"),
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject(javascript),
        })

    return change


def bad_file(case: BadCase, ttf: str) -> bytes:
    """The case's main file, broken as ``case.file`` says."""
    d = case.doc
    if case.file == "empty":
        return b""
    if case.file == "jpeg":
        return make_jpeg(d, ttf)
    data = make_pdf(d)
    if case.file == "truncate":
        keep, of = case.keep
        return data[: len(data) * keep // of]
    if case.file == "encrypt":
        return _rewrite(data, lambda w: w.encrypt(  # type: ignore[attr-defined]
            user_password=case.user_password, owner_password=case.owner_password, algorithm=case.algorithm))
    if case.file == "open_action":
        return _rewrite(data, _open_action(case.javascript))
    if case.file == "embedded_file":
        return _rewrite(data, lambda w: w.add_attachment(  # type: ignore[attr-defined]
            case.embedded_name, case.embedded_text.encode()))
    return data


def bad_metadata(case: BadCase) -> tuple[str, bytes] | None:
    """(suffix, bytes) of the case's metadata file, broken as ``case.metadata`` says; None for none."""
    d = case.doc
    if case.metadata == "none":
        return None
    if case.metadata == "truncated_json":
        return ".json", (f'{{\n  "题名": "{d.title}",\n  "责任者": "{d.issuer}",\n'
                         f'  "密级": "{d.classification}",\n').encode()
    if case.metadata == "broken_xml":
        return ".xml", (f'<?xml version="1.0" encoding="UTF-8"?>\n<record xmlns="{RECORD_NS}" profileVersion="1">\n'
                        f"  <title>{d.title}</title>\n  <issuer>{d.issuer}\n</record>\n").encode()
    obj: dict[str, object] = {
        "题名": d.title, "文件编号": d.number, "责任者": d.issuer, "成文日期": d.date.isoformat(),
        "密级": d.classification, "保管期限": d.retention,
    }
    for key in case.sidecar_drop:
        obj.pop(key, None)
    obj.update(case.sidecar_set)
    return ".json", json_bytes(obj)


def build_bad(city: City, out: Path, ttf: str) -> None:
    """bad/<code>/ under ``out`` for every bad case."""
    for case in city.bad:
        folder = out / "bad" / case.code
        write(folder, case.doc.path, bad_file(case, ttf))
        meta = bad_metadata(case)
        if meta is not None:
            suffix, data = meta
            write(folder, Path(case.doc.path).with_suffix(suffix), data)
