"""inspect_file on real generated documents; document number and date patterns; compare()."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from pypdf import PdfWriter
from pypdf.actions import JavaScript, PageTrigger
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, TextStringObject

from govarc.formats import DOCX_MIME, ODT_MIME, OFD_MIME, FormatInfo
from govarc.ingest.inspect import (
    Inspection,
    compare,
    find_date,
    find_document_number,
    inspect_file,
    normalise_document_number,
)

Docs = Callable[[str, bytes], Path]
D = dt.date


def set_open_action(w: PdfWriter, action: DictionaryObject) -> None:
    w.root_object[NameObject("/OpenAction")] = w._add_object(action)


def launch_action() -> DictionaryObject:
    return DictionaryObject({
        NameObject("/Type"): NameObject("/Action"), NameObject("/S"): NameObject("/Launch"),
        NameObject("/F"): TextStringObject("calc.exe"),
    })


# -- PDF -------------------------------------------------------------------------------------------

def test_official_pdf(docs: Docs, official_pdf: bytes, gen: SimpleNamespace) -> None:
    ins = inspect_file(docs("柳政发〔2007〕12号.pdf", official_pdf))
    assert ins.format == FormatInfo("application/pdf", "PDF", "1.3")
    assert ins.extension_ok
    assert ins.page_count == 1
    for line in gen.OFFICIAL_LINES:
        assert line in ins.text
    assert ins.document_number == "柳政发〔2007〕12号"
    assert ins.date == D(2007, 3, 5)  # not 4月1日 (running text) nor 3月6日 (印发日期)
    assert ins.pdf_info["Producer"].startswith("ReportLab")
    assert not ins.encrypted and ins.active_content == () and ins.unreadable is None


def test_pdfa_claim_and_xmp_metadata(docs: Docs, gen: SimpleNamespace) -> None:
    w = PdfWriter()
    w.add_blank_page(595, 842)
    gen.add_xmp(w)
    buf = io.BytesIO()
    w.write(buf)
    ins = inspect_file(docs("a.pdf", buf.getvalue()))
    assert ins.format == FormatInfo("application/pdf", "PDF/A", "1b")
    assert ins.pdf_info["Title"] == "植树造林通知"  # from dc:title, the info dictionary has none
    assert ins.page_count == 1 and ins.text.strip() == ""


def test_pdfa_claim_on_official_pdf(docs: Docs, official_pdf: bytes, gen: SimpleNamespace) -> None:
    ins = inspect_file(docs("a.pdf", gen.rewrite(official_pdf, gen.add_xmp)))
    assert (ins.format.name, ins.format.version) == ("PDF/A", "1b")
    assert ins.document_number == "柳政发〔2007〕12号"


def test_encrypted_pdf_is_not_read(docs: Docs, official_pdf: bytes, gen: SimpleNamespace) -> None:
    ins = inspect_file(docs("a.pdf", gen.rewrite(official_pdf, lambda w: w.encrypt("secret"))))
    assert ins.encrypted
    assert ins.text == "" and ins.document_number is None and ins.date is None
    assert ins.unreadable is None
    assert ins.page_count is None  # the page tree is encrypted too


def test_owner_password_only_pdf_is_encrypted_but_counted(docs: Docs, official_pdf: bytes, gen: SimpleNamespace) -> None:
    ins = inspect_file(docs("a.pdf", gen.rewrite(official_pdf, lambda w: w.encrypt("", "owner"))))
    assert ins.encrypted and ins.page_count == 1 and ins.text == ""


def _page_js(w: PdfWriter) -> None:
    w.pages[0].add_action(PageTrigger.OPEN, JavaScript("app.alert('page')"))


def _link(action: DictionaryObject) -> Callable[[PdfWriter], None]:
    def change(w: PdfWriter) -> None:
        annot = DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject([FloatObject(0), FloatObject(0), FloatObject(10), FloatObject(10)]),
            NameObject("/A"): action,
        })
        w.pages[0][NameObject("/Annots")] = ArrayObject([w._add_object(annot)])
    return change


def _chain(w: PdfWriter) -> None:
    # A harmless GoTo whose /Next runs JavaScript; the chain loops back on itself.
    goto = DictionaryObject({NameObject("/S"): NameObject("/GoTo"), NameObject("/D"): ArrayObject([])})
    ref = w._add_object(goto)
    js = JavaScript("app.alert(2)")
    js[NameObject("/Next")] = ref
    goto[NameObject("/Next")] = w._add_object(js)
    w.root_object[NameObject("/OpenAction")] = ref


def _file_annotation(w: PdfWriter) -> None:
    annot = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/FileAttachment"),
        NameObject("/Rect"): ArrayObject([FloatObject(0), FloatObject(0), FloatObject(10), FloatObject(10)]),
        NameObject("/Contents"): TextStringObject("附件"),
    })
    w.pages[0][NameObject("/Annots")] = ArrayObject([w._add_object(annot)])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda w: w.add_open_action(JavaScript("app.alert(1)")), ("JavaScript",)),  # /Names /JavaScript
        (lambda w: set_open_action(w, JavaScript("app.alert(1)")), ("OpenAction JavaScript",)),
        (lambda w: set_open_action(w, launch_action()), ("Launch",)),
        (_page_js, ("JavaScript",)),
        (_link(launch_action()), ("Launch",)),
        (_link(JavaScript("app.alert(3)")), ("JavaScript",)),
        (_chain, ("OpenAction JavaScript",)),
        (lambda w: w.add_attachment("清单.txt", "城中区".encode()), ("EmbeddedFile",)),
        (_file_annotation, ("EmbeddedFile",)),
        (lambda w: (w.add_attachment("a.txt", b"x"), set_open_action(w, launch_action())), ("EmbeddedFile", "Launch")),
    ],
    ids=["names-js", "openaction-js", "openaction-launch", "page-aa-js", "link-launch", "link-js",
         "next-chain-cycle", "embedded-file", "file-annotation", "two-kinds"],
)
def test_active_content(docs: Docs, official_pdf: bytes, change: Callable[[PdfWriter], None],
                        expected: tuple[str, ...], gen: SimpleNamespace) -> None:
    ins = inspect_file(docs("a.pdf", gen.rewrite(official_pdf, change)))
    assert ins.active_content == expected
    assert ins.unreadable is None and ins.document_number == "柳政发〔2007〕12号"


def test_harmless_link_is_not_active(docs: Docs, official_pdf: bytes, gen: SimpleNamespace) -> None:
    uri = DictionaryObject({NameObject("/S"): NameObject("/URI"), NameObject("/URI"): TextStringObject("https://example.org")})
    assert inspect_file(docs("a.pdf", gen.rewrite(official_pdf, _link(uri)))).active_content == ()


def test_truncated_pdf(docs: Docs, official_pdf: bytes) -> None:
    ins = inspect_file(docs("a.pdf", official_pdf[: len(official_pdf) // 2]))
    assert ins.format.mime == "application/pdf"
    assert ins.unreadable is not None and "truncated" in ins.unreadable
    assert ins.page_count is None and ins.text == ""


def test_garbage_pdf(docs: Docs) -> None:
    ins = inspect_file(docs("a.pdf", b"%PDF-1.4\nthis is not a PDF body\n%%EOF\n"))
    assert ins.unreadable is not None and ins.unreadable.startswith("cannot parse the PDF")


def test_empty_file(docs: Docs) -> None:
    ins = inspect_file(docs("a.pdf", b""))
    assert ins.unreadable == "empty file"
    assert ins.format.mime == "application/x-empty"
    assert ins.extension_ok and ins.page_count is None


def test_only_first_pages_are_read_but_date_comes_from_the_last(docs: Docs, gen: SimpleNamespace) -> None:
    pages = [["柳政发〔2007〕12号", "第一页"], ["第二页"], ["第三页"], ["柳州市人民政府", "2007年3月5日"]]
    ins = inspect_file(docs("a.pdf", gen.pdf_bytes(pages)), max_pages=2)
    assert ins.page_count == 4
    assert "第二页" in ins.text and "第三页" not in ins.text and "柳州市人民政府" not in ins.text
    assert ins.date == D(2007, 3, 5)
    one = inspect_file(docs("b.pdf", gen.pdf_bytes(pages)), max_pages=1)
    assert "第二页" not in one.text and one.document_number == "柳政发〔2007〕12号"


def test_inspection_is_frozen(docs: Docs, official_pdf: bytes) -> None:
    ins = inspect_file(docs("a.pdf", official_pdf))
    with pytest.raises(AttributeError):
        ins.text = "x"  # type: ignore[misc]


# -- OFD, DOCX, ODT ------------------------------------------------------------------------------

def test_ofd(docs: Docs, gen: SimpleNamespace) -> None:
    ins = inspect_file(docs("a.ofd", gen.ofd_bytes(pages=3)))
    assert ins.format == FormatInfo(OFD_MIME, "OFD", "1.0")
    assert ins.page_count == 3
    assert ins.document_number == "柳政发〔2007〕12号"  # its two TextObjects share a baseline
    assert ins.date == D(2007, 3, 5)
    assert "第2页" in ins.text and "第3页" not in ins.text
    assert ins.pdf_info["Title"] == "植树造林通知" and ins.pdf_info["Author"] == "柳州市人民政府"
    assert ins.active_content == () and ins.unreadable is None and ins.extension_ok


def test_ofd_attachment_is_embedded_file(docs: Docs, gen: SimpleNamespace) -> None:
    assert inspect_file(docs("a.ofd", gen.ofd_bytes(attachment=True))).active_content == ("EmbeddedFile",)


def test_zip_named_ofd_without_namespace(docs: Docs, gen: SimpleNamespace) -> None:
    ins = inspect_file(docs("a.ofd", gen.ofd_bytes(namespace="http://example.com/x")))
    assert ins.format.mime == "application/zip" and not ins.extension_ok
    assert ins.text == "" and ins.page_count is None


def test_ofd_with_missing_page_part_is_unreadable(docs: Docs, gen: SimpleNamespace) -> None:
    data = gen.ofd_bytes()
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for info in src.infolist():
            if not info.filename.endswith("Content.xml"):
                z.writestr(info, src.read(info))
    ins = inspect_file(docs("a.ofd", buf.getvalue()))
    assert ins.format.mime == OFD_MIME
    assert ins.unreadable is not None and "KeyError" in ins.unreadable


def test_docx(docs: Docs, gen: SimpleNamespace) -> None:
    ins = inspect_file(docs("a.docx", gen.docx_bytes()))
    assert ins.format.mime == DOCX_MIME and ins.extension_ok
    assert ins.page_count is None
    assert ins.text.splitlines()[: len(gen.OFFICIAL_LINES)] == list(gen.OFFICIAL_LINES)
    assert ins.document_number == "柳政发〔2007〕12号" and ins.date == D(2007, 3, 5)
    assert ins.pdf_info["Title"] == "植树造林通知"


def test_docx_with_macros(docs: Docs, gen: SimpleNamespace) -> None:
    src = zipfile.ZipFile(io.BytesIO(gen.docx_bytes()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for info in src.infolist():
            z.writestr(info, src.read(info))
        z.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0")
        z.writestr("word/embeddings/oleObject1.bin", b"\xd0\xcf\x11\xe0")
    assert inspect_file(docs("a.docx", buf.getvalue())).active_content == ("EmbeddedFile", "Macro")


def test_damaged_docx_is_unreadable(docs: Docs, gen: SimpleNamespace) -> None:
    ins = inspect_file(docs("a.docx", gen.docx_bytes()[:100]))
    assert ins.unreadable is not None and ins.unreadable.startswith("cannot read the container")


def test_odt(docs: Docs, gen: SimpleNamespace) -> None:
    ins = inspect_file(docs("a.odt", gen.odt_bytes()))
    assert ins.format.mime == ODT_MIME and ins.extension_ok
    assert ins.document_number == "柳政发〔2007〕12号" and ins.date == D(2007, 3, 5)


def test_plain_text_gb18030(docs: Docs, gen: SimpleNamespace) -> None:
    ins = inspect_file(docs("a.txt", "\n".join(gen.OFFICIAL_LINES).encode("gb18030")))
    assert ins.format.mime == "text/plain"
    assert ins.document_number == "柳政发〔2007〕12号" and ins.date == D(2007, 3, 5)


# -- images ---------------------------------------------------------------------------------------

def test_jpeg(docs: Docs, gen: SimpleNamespace) -> None:
    ins = inspect_file(docs("scan.jpg", gen.image_bytes("JPEG")))
    assert ins.format.mime == "image/jpeg" and ins.extension_ok
    assert ins.page_count == 1 and ins.text == "" and ins.unreadable is None


def test_multipage_tiff(docs: Docs, gen: SimpleNamespace) -> None:
    ins = inspect_file(docs("scan.tif", gen.image_bytes("TIFF", frames=3)))
    assert ins.format.mime == "image/tiff" and ins.page_count == 3


def test_jpeg_named_pdf(docs: Docs, gen: SimpleNamespace) -> None:
    ins = inspect_file(docs("柳政发〔2007〕12号.pdf", gen.image_bytes("JPEG")))
    assert ins.format.mime == "image/jpeg"
    assert not ins.extension_ok
    assert ins.unreadable is None  # it is a readable JPEG; only its name lies


# -- document number ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("柳政发〔2007〕12号", "柳政发〔2007〕12号"),
        ("国办发[2012]1号", "国办发〔2012〕1号"),
        ("柳财预(2024)8号", "柳财预〔2024〕8号"),
        ("柳财预（2024）8号", "柳财预〔2024〕8号"),
        ("桂政办发［2019］105号", "桂政办发〔2019〕105号"),
        ("柳政函【2020】3号", "柳政函〔2020〕3号"),
        ("柳政发 〔 2007 〕 12 号", "柳政发〔2007〕12号"),  # spaces from text extraction
        ("柳政发〔２００７〕１２号", "柳政发〔2007〕12号"),  # full-width digits
        ("国务院令〔2010〕第588号", "国务院令〔2010〕588号"),
        ("ABC发[2020]7号", "ABC发〔2020〕7号"),
        ("柳州市人民政府文件\n\n   柳政发〔2007〕12号\n", "柳政发〔2007〕12号"),
        # the number at the start of a line wins over one cited earlier in running text
        ("根据国发〔2005〕1号文件精神\n柳政发〔2007〕12号", "柳政发〔2007〕12号"),
        # only a cited number: the citing words are not part of the organ
        ("现根据国发〔2005〕1号文件精神", "国发〔2005〕1号"),
        ("柳经信发〔2020〕4号", "柳经信发〔2020〕4号"),
        ("柳政报〔2007〕3号  签发人：张三", "柳政报〔2007〕3号"),
    ],
)
def test_find_document_number(text: str, number: str) -> None:
    assert find_document_number(text) == number


@pytest.mark.parametrize(
    "text",
    ["", "柳州市人民政府文件", "2007年3月5日", "柳政发〔07〕12号", "柳政发〔2007〕号", "〔2007〕12号", "柳政发2007年12号"],
)
def test_no_document_number(text: str) -> None:
    assert find_document_number(text) is None


@pytest.mark.parametrize(
    ("value", "normal"),
    [
        ("国办发[2012]1号", "国办发〔2012〕1号"),
        (" 柳财预（2024）008号 ", "柳财预〔2024〕8号"),
        ("柳政发〔2007〕12号", "柳政发〔2007〕12号"),
        ("not a number (x)", "notanumber〔x〕"),
    ],
)
def test_normalise_document_number(value: str, normal: str) -> None:
    assert normalise_document_number(value) == normal


# -- date -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("2007年3月5日", D(2007, 3, 5)),
        ("柳州市人民政府\n2012年4月16日\n", D(2012, 4, 16)),
        ("柳州市人民政府  2012 年 4 月 16 日", D(2012, 4, 16)),
        ("二〇〇七年三月五日", D(2007, 3, 5)),
        ("二○○七年十二月三十一日", D(2007, 12, 31)),
        ("一九九八年十月二十日", D(1998, 10, 20)),
        ("二〇〇一年十一月十日", D(2001, 11, 10)),
        ("二〇〇一年一月十九日", D(2001, 1, 19)),
        ("２００７年３月５日", D(2007, 3, 5)),
        # the last date standing at a line end wins (成文日期 at the end of the body)
        ("2007年1月1日\n正文\n柳州市人民政府\n2007年3月5日\n", D(2007, 3, 5)),
        # running-text dates and the 印发日期 are not candidates
        ("自2007年4月1日起施行。\n2007年3月5日\n市政府办公室 2007年3月6日印发", D(2007, 3, 5)),
        # an impossible date is skipped, the earlier real one kept
        ("2007年3月5日\n2007年2月30日", D(2007, 3, 5)),
    ],
)
def test_find_date(text: str, date: dt.date) -> None:
    assert find_date(text) == date


@pytest.mark.parametrize(
    "text", ["", "自2007年4月1日起施行。", "2007年3月6日印发", "2007年13月1日", "二〇〇七年十三月五日", "2007年3月"],
)
def test_no_date(text: str) -> None:
    assert find_date(text) is None


# -- compare --------------------------------------------------------------------------------------

def _ins(number: str | None, date: dt.date | None) -> Inspection:
    return Inspection(path=Path("a.pdf"), format=FormatInfo("application/pdf", "PDF", "1.4"), extension_ok=True,
                      document_number=number, date=date)


@pytest.mark.parametrize(
    ("meta_number", "meta_date", "printed_number", "printed_date", "expected"),
    [
        ("柳政发〔2007〕12号", D(2007, 3, 5), "柳政发〔2007〕12号", D(2007, 3, 5), []),
        ("柳政发[2007]12号", None, "柳政发〔2007〕12号", None, []),  # brackets normalised
        ("柳政发（2007）012号", None, "柳政发〔2007〕12号", None, []),
        ("柳政发〔2007〕13号", None, "柳政发〔2007〕12号", None, ["document number"]),
        (None, D(2007, 3, 6), None, D(2007, 3, 5), ["date"]),
        ("柳政发〔2008〕12号", D(2008, 3, 5), "柳政发〔2007〕12号", D(2007, 3, 5), ["document number", "date"]),
        ("柳政发〔2007〕12号", D(2007, 3, 5), None, None, []),  # nothing printed: nothing to disagree with
        (None, None, "柳政发〔2007〕12号", D(2007, 3, 5), []),
    ],
)
def test_compare(meta_number: str | None, meta_date: dt.date | None, printed_number: str | None,
                 printed_date: dt.date | None, expected: list[str]) -> None:
    messages = compare(meta_number, meta_date, _ins(printed_number, printed_date))
    assert len(messages) == len(expected)
    for m, kind in zip(messages, expected):
        assert m.startswith(kind) and "metadata" in m and "printed in the document" in m


def test_compare_message_names_both_values(docs: Docs, official_pdf: bytes) -> None:
    ins = inspect_file(docs("a.pdf", official_pdf))
    [message] = compare("柳政发〔2007〕13号", D(2007, 3, 5), ins)
    assert "柳政发〔2007〕13号" in message and "柳政发〔2007〕12号" in message
