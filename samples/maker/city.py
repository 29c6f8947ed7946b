"""The drop folders: every document of each agency, its attachments, and its sidecar or register."""

from __future__ import annotations

from pathlib import Path

from .corpus import City, Doc
from .layout import creation_time
from .metadata import register_file, sidecar_json, sidecar_xml
from .ofd import make_ofd
from .office import make_docx, make_xlsx
from .pdf import make_attachment_pdf, make_pdf, make_pdfa
from .scans import make_jpeg, make_tiff


def write(root: Path, relative: str | Path, data: bytes) -> None:
    """Write ``data`` at ``relative`` under ``root``, which it must not leave."""
    path = root / relative
    if Path(relative).is_absolute() or ".." in Path(relative).parts:
        raise ValueError(f"{relative}: not a path inside {root}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def link(root: Path, relative: str | Path, target: str) -> None:
    """A symbolic link at ``relative`` under ``root`` to ``target``, a relative path that stays in the output."""
    path = root / relative
    if Path(relative).is_absolute() or ".." in Path(relative).parts or Path(target).is_absolute():
        raise ValueError(f"{relative} -> {target}: not a relative link inside {root}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def main_file(doc: Doc, city: City, ttf: str) -> bytes:
    """The document itself, in its format."""
    if doc.fmt == "pdf":
        return make_pdf(doc)
    if doc.fmt in ("pdfa1", "pdfa2"):
        return make_pdfa(doc, 1 if doc.fmt == "pdfa1" else 2)
    if doc.fmt == "ofd":
        return make_ofd(doc, city.creator_version)
    if doc.fmt == "docx":
        return make_docx(doc, ttf)
    if doc.fmt == "jpeg":
        return make_jpeg(doc, ttf)
    if doc.fmt == "tiff":
        return make_tiff(doc, ttf)
    raise ValueError(doc.fmt)


def write_doc(folder: Path, doc: Doc, city: City, ttf: str) -> None:
    """The document and its attachments (PDF pages or XLSX tables) in ``folder``."""
    write(folder, doc.path, main_file(doc, city, ttf))
    for i, att in enumerate(doc.attachments):
        if att.kind == "pdf":
            data = make_attachment_pdf(doc, i, att)
        else:
            data = make_xlsx(att.title, att.rows, creation_time(doc), doc.creator)
        write(folder, att.path, data)


def build_city(city: City, out: Path, ttf: str) -> None:
    """Every agency's drop folder under ``out``."""
    for agency in city.agencies:
        folder = out / agency.drop
        docs = [d for d in city.docs if d.agency == agency.code]
        for i, doc in enumerate(docs):
            write_doc(folder, doc, city, ttf)
            if agency.register is None:
                stem = Path(doc.path).with_suffix("")
                if doc.xml_sidecar:
                    write(folder, stem.with_suffix(".xml"), sidecar_xml(doc, agency))
                else:
                    write(folder, stem.with_suffix(".json"), sidecar_json(doc, i, city))
        if agency.register is not None:
            write(folder, agency.register.file, register_file(docs, agency.register, city))
