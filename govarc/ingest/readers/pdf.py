"""The PDF reader: pages, text of the first pages, document metadata, encryption, active content."""

from __future__ import annotations

from typing import IO, Any

from lxml import etree
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

from govarc import formats, xmlsafe
from govarc.ingest.readers.base import MAX_INFO_ENTRIES, MAX_TEXT_CHARS, Found, clean, short
from govarc.ingest.text import find_date

# Objects visited when looking for actions: bounds the work on a hostile PDF.
MAX_ACTION_NODES = 100_000


def inspect_pdf(f: IO[bytes], head: bytes, max_pages: int, found: Found) -> None:
    """Read a PDF: a truncated one is not repaired, an encrypted one not read past its page count."""
    found.format = formats.pdf_format(head)
    f.seek(0, 2)
    size = f.tell()
    f.seek(max(0, size - 1024))
    if b"%%EOF" not in f.read():
        # pypdf (strict=False) would rebuild a cut file from what is left; the archive should not.
        found.unreadable = "truncated: no %%EOF at the end of the PDF"
        return
    f.seek(0)
    try:
        reader = PdfReader(f, strict=False)
        if reader.is_encrypted:
            found.encrypted = True
            found.page_count = _encrypted_page_count(reader)
            return
        xmp, version = formats.pdf_xmp_and_version(reader)
        found.format = formats.pdf_format(head, xmp, version)
        pages = reader.pages
        found.page_count = len(pages)
        found.info = _pdf_info(reader, xmp)
        _pdf_active_content(reader, found.active)
    except Exception as e:  # noqa: BLE001 - pypdf raises many types (KeyError, ValueError, …) on hostile input
        found.unreadable = f"cannot parse the PDF ({short(e)})"
        return
    texts = []
    for i in range(min(max_pages, found.page_count)):
        try:
            texts.append(pages[i].extract_text() or "")
        except Exception as e:  # noqa: BLE001 - as above
            found.unreadable = f"cannot read the text of page {i + 1} ({short(e)})"
            return
        if sum(len(t) for t in texts) >= MAX_TEXT_CHARS:
            break
    found.text = "\n".join(texts)[:MAX_TEXT_CHARS]
    if found.page_count > max_pages and find_date(found.text) is None:
        try:
            found.last_page_text = (pages[found.page_count - 1].extract_text() or "")[:MAX_TEXT_CHARS]
        except Exception:  # noqa: BLE001 - the last page only serves the date; its failure is not fatal
            found.last_page_text = ""


def _encrypted_page_count(reader: PdfReader) -> int | None:
    # An empty user password (only an owner password set) still lets the page tree be read.
    try:
        if reader.decrypt(""):
            return len(reader.pages)
    except Exception:  # noqa: BLE001 - unknown handlers, missing crypto backends
        pass
    return None


_XMP_FIELDS = {
    "Title": ("http://purl.org/dc/elements/1.1/", "title"),
    "Author": ("http://purl.org/dc/elements/1.1/", "creator"),
    "Subject": ("http://purl.org/dc/elements/1.1/", "description"),
    "Keywords": ("http://ns.adobe.com/pdf/1.3/", "Keywords"),
    "Creator": ("http://ns.adobe.com/xap/1.0/", "CreatorTool"),
    "Producer": ("http://ns.adobe.com/pdf/1.3/", "Producer"),
    "CreationDate": ("http://ns.adobe.com/xap/1.0/", "CreateDate"),
    "ModDate": ("http://ns.adobe.com/xap/1.0/", "ModifyDate"),
}


def _pdf_info(reader: PdfReader, xmp: bytes | None) -> dict[str, str]:
    info: dict[str, str] = {}
    raw: Any
    try:
        raw = reader.trailer.get("/Info")
        raw = raw.get_object() if raw is not None else None
    except Exception:  # noqa: BLE001 - a broken /Info is ignored, not fatal
        raw = None
    if isinstance(raw, DictionaryObject):
        for key in list(raw.keys())[:MAX_INFO_ENTRIES]:
            value: Any
            try:
                value = raw[key]
                value = value.get_object() if hasattr(value, "get_object") else value
            except Exception:  # noqa: BLE001 - as above
                continue
            if isinstance(value, (DictionaryObject, ArrayObject)):
                continue
            text = clean(value)
            if text:
                info[str(key).lstrip("/")] = text
    if xmp and len(xmp) <= formats.MAX_XMP_BYTES:
        try:
            root = xmlsafe.parse_bytes(xmp.strip(b"\x00 \t\r\n")).getroot()
        except (etree.XMLSyntaxError, ValueError):
            root = None
        if root is not None:
            for key, (ns, local) in _XMP_FIELDS.items():
                if key not in info:
                    xmp_value = _xmp_text(root, ns, local)
                    if xmp_value:
                        info[key] = xmp_value
    return info


def _xmp_text(root: etree._Element, ns: str, local: str) -> str | None:
    # dc:title and dc:creator hold rdf:Alt/rdf:Seq lists: the first item is the value.
    found = formats.find_xmp(root, ns, local)
    if found is None:
        return None
    if isinstance(found, str):
        return clean(found) or None
    items = list(found.iter("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li"))
    return clean("".join(items[0].itertext()) if items else "".join(found.itertext())) or None


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_ACTION_NODES

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


def _resolve(obj: Any) -> Any:
    return obj.get_object() if hasattr(obj, "get_object") else obj


def _actions(action: Any, budget: _Budget, seen: set[int]) -> list[str]:
    """The types (``/S``) of an action and of the actions chained after it by ``/Next``."""
    out: list[str] = []
    stack = [action]
    while stack and budget.spend():
        node = _resolve(stack.pop())
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ArrayObject):
            stack.extend(node)
        elif isinstance(node, DictionaryObject):
            kind = node.get("/S")
            if kind is not None:
                out.append(str(_resolve(kind)))
            nxt = node.get("/Next")
            if nxt is not None:
                stack.append(nxt)
    return out


def _note(kinds: list[str], active: set[str], js_label: str = "JavaScript") -> None:
    for k in kinds:
        if k == "/JavaScript":
            active.add(js_label)
        elif k == "/Launch":
            active.add("Launch")


def _name_tree_has_entries(node: Any, budget: _Budget, seen: set[int]) -> bool:
    stack = [node]
    while stack and budget.spend():
        n = _resolve(stack.pop())
        if id(n) in seen or not isinstance(n, DictionaryObject):
            continue
        seen.add(id(n))
        names = _resolve(n.get("/Names"))
        if isinstance(names, ArrayObject) and len(names) > 0:
            return True
        kids = _resolve(n.get("/Kids"))
        if isinstance(kids, ArrayObject):
            stack.extend(kids)
    return False


def _pdf_active_content(reader: PdfReader, active: set[str]) -> None:
    budget = _Budget()
    seen: set[int] = set()
    root = _resolve(reader.trailer["/Root"])
    names = _resolve(root.get("/Names"))
    if isinstance(names, DictionaryObject):
        if "/JavaScript" in names and _name_tree_has_entries(names["/JavaScript"], budget, seen):
            active.add("JavaScript")
        if "/EmbeddedFiles" in names and _name_tree_has_entries(names["/EmbeddedFiles"], budget, seen):
            active.add("EmbeddedFile")
    open_action = root.get("/OpenAction")
    if open_action is not None:
        _note(_actions(open_action, budget, seen), active, "OpenAction JavaScript")
    _additional_actions(root.get("/AA"), active, budget, seen)
    for page in reader.pages:
        if not budget.spend():
            break
        _additional_actions(page.get("/AA"), active, budget, seen)
        annots = _resolve(page.get("/Annots"))
        if not isinstance(annots, ArrayObject):
            continue
        for a in annots:
            annot = _resolve(a)
            if not isinstance(annot, DictionaryObject) or not budget.spend():
                continue
            if annot.get("/Subtype") == "/FileAttachment":
                active.add("EmbeddedFile")
            if "/A" in annot:
                _note(_actions(annot["/A"], budget, seen), active)
            _additional_actions(annot.get("/AA"), active, budget, seen)


def _additional_actions(aa: Any, active: set[str], budget: _Budget, seen: set[int]) -> None:
    aa = _resolve(aa)
    if isinstance(aa, DictionaryObject):
        for trigger in list(aa.values()):
            _note(_actions(trigger, budget, seen), active)
