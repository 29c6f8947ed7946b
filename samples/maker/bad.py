"""The bad inputs: one folder per finding code under bad/, each document broken in one way.

What each case does is data (``[[bad]]`` in corpus.toml); how a file is broken is here.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lxml import etree

from .city import link, write
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
    """The case's main file, broken as ``case.file`` says (not for "link" and "none")."""
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


def _fields(case: BadCase) -> dict[str, Any]:
    """The metadata fields of a "sidecar", "xml" or "register" case, grown as the case says."""
    d = case.doc
    obj: dict[str, Any] = {
        "题名": d.title, "文件编号": d.number, "责任者": d.issuer, "成文日期": d.date.isoformat(),
        "密级": d.classification, "保管期限": d.retention,
    }
    for key in case.sidecar_drop:
        obj.pop(key, None)
    obj.update(case.sidecar_set)
    for key, n in case.sidecar_longer:
        text = str(obj.get(key) or d.title)
        obj[key] = (text * (n // len(text) + 1))[:n]
    for key, n in case.sidecar_items:
        base = str(obj.get(key) or d.keywords[0])
        obj[key] = [f"{base}{i}" for i in range(1, n + 1)]
    return obj


def _nested_json(obj: dict[str, Any], nest: tuple[tuple[str, int], ...]) -> bytes:
    """``obj`` as a sidecar with each ``nest`` field's value inside that many arrays.

    Written as text: json.dumps itself recurses, and stops near 1,000 levels.
    """
    marks = {key: f"\x00nest{i}\x00" for i, (key, _) in enumerate(nest)}
    values = {key: obj.get(key, "") for key, _ in nest}
    data = json_bytes({**obj, **marks}).decode("utf-8")
    for key, n in nest:
        mark = json.dumps(marks[key])
        assert data.count(mark) == 1
        data = data.replace(mark, "[" * n + json.dumps(values[key], ensure_ascii=False) + "]" * n)
    return data.encode("utf-8")


def _xml(obj: dict[str, Any]) -> bytes:
    """An XML sidecar in the record schema; each 附件 a ``files/file`` of role attachment."""
    q = "{%s}" % RECORD_NS
    root = etree.Element(q + "record", nsmap={None: RECORD_NS}, profileVersion="1")
    tags = (("题名", "title"), ("文件编号", "documentNumber"), ("责任者", "issuer"), ("成文日期", "date"),
            ("密级", "classification"), ("保管期限", "retention"))
    for key, tag in tags:
        if key in obj:
            etree.SubElement(root, q + tag).text = str(obj[key])
    if obj.get("附件"):
        files = etree.SubElement(root, q + "files")
        for name in obj["附件"]:
            etree.SubElement(etree.SubElement(files, q + "file", role="attachment"), q + "name").text = name
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _register(case: BadCase, obj: dict[str, Any]) -> bytes:
    """A one-row CSV register (UTF-8, CRLF); 文件名 the document unless the case names another file."""
    row = {"文件名": obj.pop("文件名", case.doc.path), **obj}
    cells = ["；".join(v) if isinstance(v, (list, tuple)) else str(v) for v in row.values()]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([list(row), cells])
    return buf.getvalue().encode("utf-8")


def bad_metadata(case: BadCase) -> tuple[str, bytes] | None:
    """(name or suffix, bytes) of the case's metadata file, broken as ``case.metadata`` says; None for none.

    A suffix (``.json``) names a sidecar beside the document, a name (``登记表.csv``) a register.
    """
    d = case.doc
    if case.metadata == "none":
        return None
    if case.metadata == "truncated_json":
        return ".json", (f'{{\n  "题名": "{d.title}",\n  "责任者": "{d.issuer}",\n'
                         f'  "密级": "{d.classification}",\n').encode()
    if case.metadata == "broken_xml":
        return ".xml", (f'<?xml version="1.0" encoding="UTF-8"?>\n<record xmlns="{RECORD_NS}" profileVersion="1">\n'
                        f"  <title>{d.title}</title>\n  <issuer>{d.issuer}\n</record>\n").encode()
    obj = _fields(case)
    if case.metadata == "xml":
        return ".xml", _xml(obj)
    if case.metadata == "register":
        return case.register, _register(case, obj)
    if case.sidecar_nest:
        return ".json", _nested_json(obj, case.sidecar_nest)
    return ".json", json_bytes(obj)


def build_bad(city: City, out: Path, ttf: str) -> None:
    """bad/<code>/ under ``out`` for every bad case."""
    docs = {d.key: d for d in city.docs}
    drops = {a.code: a.drop for a in city.agencies}
    for case in city.bad:
        folder = out / "bad" / case.code
        if case.file == "link":
            target = docs[case.link_to]
            here = (folder / case.doc.path).parent
            link(folder, case.doc.path, os.path.relpath(out / drops[target.agency] / target.path, here))
        elif case.file != "none":
            write(folder, case.doc.path, bad_file(case, ttf))
        meta = bad_metadata(case)
        if meta is not None:
            name, data = meta
            write(folder, Path(case.doc.path).with_suffix(name) if name.startswith(".") else name, data)
