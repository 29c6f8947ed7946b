"""The transfer list and receipt documents: round trips, the spec XSDs, hostile input, signatures.

The schemas are loaded from specs/ with plain lxml, independently of govarc's loader; signatures
are checked by govarc against the test PKI and by stock ``openssl cms -verify``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from govarc.errors import EXIT_INVALID, InvalidInputError
from govarc.limits import MAX_BATCH_PACKAGES, MAX_CHECKS_PER_PACKAGE, MAX_TAG_FILE_BYTES, MAX_TRANSFER_DOC_BYTES, MAX_XML_DEPTH
from govarc.package.metadata import load_metadata
from govarc.transfer.documents import (
    NS,
    Check,
    CheckResult,
    ListedPackage,
    PackageVerdict,
    Receipt,
    TransferList,
    Verdict,
    receipt_from_xml,
    receipt_problems,
    receipt_to_xml,
    transfer_list_from_xml,
    transfer_list_to_xml,
)
from govarc.sign.documents import check_document, sign_document, verify_document
from tests.sign.conftest import AGENCY, Pki, build_signed, pki  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
OPENSSL = shutil.which("openssl") or "openssl"
ARCHIVES = "DA0001"  # the archives' code in the test PKI
WHERE = "inbound/LZ0012/LZ0012-20261130-0001/transfer-list.xml"


def spec_schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SPECS / name)))


def listed(item: int, *, year: int = 2007, retention: str = "Y", size: int = 1000, files: int = 2) -> ListedPackage:
    code = f"0012-WS·{year}-{retention}-BGS-{item:04d}"
    return ListedPackage(code, f"第{item}号文件的题名", f"{code}.zip", files, size,
                         hashlib.sha256(f"package {item}".encode()).hexdigest(),
                         hashlib.sha256(f"tagmanifest {item}".encode()).hexdigest(), year, retention)


def make_list(*packages: ListedPackage, **changes: object) -> TransferList:
    tl = TransferList("LZ0012-20261130-0001", AGENCY, "柳州市人民政府办公室", "0012", ARCHIVES, "柳州市档案馆",
                      "2026-11-30T02:00:00+08:00", packages or (listed(1), listed(2, retention="D30", year=2008)))
    return dataclasses.replace(tl, **changes)  # type: ignore[arg-type]


def checks(*failed: str) -> tuple[Check, ...]:
    out = [Check("1-1", "固化信息有效性检测", "真实性", CheckResult.PASSED),
           Check("2-1", "总件数相符性检测", "完整性", CheckResult.PASSED),
           Check("3-1", "信息包可读性检测", "可用性", CheckResult.PASSED),
           Check("4-1", "病毒检测", "安全性", CheckResult.NOT_PERFORMED, "clamscan is not installed")]
    for code in failed:
        prop = {"1": "真实性", "2": "完整性", "3": "可用性", "4": "安全性"}[code[0]]
        out.append(Check(code, f"检测项目 {code}", prop, CheckResult.FAILED, f"item {code} failed: <b>&amp;</b>"))
    return tuple(out)


def make_receipt(tl: TransferList, list_xml: bytes, **changes: object) -> Receipt:
    verdicts = []
    for i, p in enumerate(tl.packages):
        if i == 1:
            verdicts.append(PackageVerdict(p.archival_code, p.key, p.sha256, Verdict.REJECTED, checks("1-7"), None, p.size))
        elif i == 2:
            verdicts.append(PackageVerdict(p.archival_code, p.key, p.sha256, Verdict.DUPLICATE, checks(),
                                           f"holdings/{p.sha256[:2]}/{p.sha256}.zip", p.size))
        else:
            verdicts.append(PackageVerdict(p.archival_code, p.key, p.sha256, Verdict.ACCEPTED, checks(),
                                           f"holdings/{p.sha256[:2]}/{p.sha256}.zip", p.size))
    r = Receipt(tl.batch_id, tl.agency_code, ARCHIVES, "柳州市档案馆", hashlib.sha256(list_xml).hexdigest(),
                "2026-12-01T09:30:00+08:00", tuple(verdicts))
    return dataclasses.replace(r, **changes)  # type: ignore[arg-type]


def refused(fn: Callable[[bytes, str], object], data: bytes, where: str = WHERE) -> str:
    """The one-line message of the InvalidInputError ``fn`` raises on ``data``."""
    with pytest.raises(InvalidInputError) as info:
        fn(data, where)
    message = str(info.value)
    assert info.value.exit_code == EXIT_INVALID
    assert message.startswith(f"{where}: ") and "\n" not in message, message
    return message


# --- round trips and the spec schemas -----------------------------------------------------------


@pytest.mark.parametrize("tl", [
    make_list(),
    make_list(listed(7), archives_name=None),
    make_list(*(listed(i, size=i * 1_000_003, files=i % 9 + 1) for i in range(1, 301))),
], ids=["two", "no-archives-name", "three-hundred"])
def test_transfer_list_round_trip_and_spec_schema(tl: TransferList) -> None:
    data = transfer_list_to_xml(tl)
    assert spec_schema("transfer-list.xsd").validate(etree.fromstring(data).getroottree())
    assert transfer_list_from_xml(data, WHERE) == tl
    assert transfer_list_to_xml(transfer_list_from_xml(data, WHERE)) == data


def test_transfer_list_totals_and_digest_as_the_spec_says() -> None:
    packages = (listed(1, size=2**30), listed(2, size=2**29 + 2**20), listed(3, size=0, files=1))
    tl = make_list(*packages)
    assert (tl.item_count, tl.file_count, tl.total_bytes) == (3, 5, 2**30 + 2**29 + 2**20)
    assert tl.data_gb == "1.501"  # 1.50098 GB, half up to three decimals
    assert make_list(listed(1, size=536_871)).data_gb == "0.001"  # 0.00050000… GB rounds up
    assert make_list(listed(1, size=536_870)).data_gb == "0.000"  # 0.00049999… GB rounds down
    assert make_list(listed(1, size=1)).data_gb == "0.000"
    lines = sorted(f"{p.sha256}  {p.key}\n" for p in packages)
    assert tl.batch_digest == hashlib.sha256("".join(lines).encode()).hexdigest()
    assert make_list(*reversed(packages)).batch_digest == tl.batch_digest  # independent of row order
    root = etree.fromstring(transfer_list_to_xml(tl))
    ns = {"t": NS}
    assert root.findtext("t:totals/t:dataGB", namespaces=ns) == "1.501"
    assert root.find("t:digest", ns).get("algorithm") == "SHA-256"
    assert root.findtext("t:carrier", namespaces=ns) == "在线"
    assert root.findtext("t:workName", namespaces=ns) == "柳州市人民政府办公室电子档案移交（批次 LZ0012-20261130-0001）"
    assert "3 件" in root.findtext("t:description", namespaces=ns)


def test_a_real_signed_package_listed(build_signed: Callable[..., Path], sample_metadata: Path) -> None:
    pkg = build_signed("pkg", zip=True)
    record = load_metadata(sample_metadata)
    blob = pkg.read_bytes()
    with zipfile.ZipFile(pkg) as z:
        names = z.namelist()
        tag = next(n for n in names if n.endswith("/tagmanifest-sha256.txt") or n == "tagmanifest-sha256.txt")
        manifest = next(n for n in names if n.endswith("manifest-sha256.txt") and "tag" not in n)
        tagmanifest_sha = hashlib.sha256(z.read(tag)).hexdigest()
        file_count = len(z.read(manifest).decode().splitlines())
    code = record.archival_code
    p = ListedPackage(code.format(), record.title, pkg.name, file_count, len(blob), hashlib.sha256(blob).hexdigest(),
                      tagmanifest_sha, code.year, code.retention.value)
    tl = make_list(p)
    back = transfer_list_from_xml(transfer_list_to_xml(tl), WHERE)
    assert back.packages[0].title == "柳州市人民政府关于做好2007年春季植树造林工作的通知"
    assert back.file_count == 3 and back.total_bytes == len(blob)


def test_receipt_round_trip_and_spec_schema() -> None:
    tl = make_list(listed(1), listed(2), listed(3))
    data = transfer_list_to_xml(tl)
    r = make_receipt(tl, data)
    xml = receipt_to_xml(r)
    assert spec_schema("receipt.xsd").validate(etree.fromstring(xml).getroottree())
    back = receipt_from_xml(xml, "receipt.xml")
    assert back == r
    assert (back.accepted, back.rejected, back.duplicate, back.accepted_bytes) == (1, 1, 1, 1000)
    assert [c.code for c in back.verdicts[1].failed] == ["1-7"]
    assert back.verdicts[0].checks[-1].result is CheckResult.NOT_PERFORMED
    assert receipt_problems(back, tl, data) == []


def test_receipt_without_sizes_or_verdicts_round_trips() -> None:
    tl = make_list(listed(1))
    r = make_receipt(tl, transfer_list_to_xml(tl))
    r = dataclasses.replace(r, verdicts=tuple(dataclasses.replace(v, size=None) for v in r.verdicts))
    assert receipt_from_xml(receipt_to_xml(r), "r.xml") == r
    empty = dataclasses.replace(r, verdicts=())
    assert receipt_from_xml(receipt_to_xml(empty), "r.xml") == empty


def test_shipped_schemas_are_the_spec_schemas() -> None:
    for name in ("transfer-list.xsd", "receipt.xsd"):
        shipped = ROOT / "govarc" / "schemas" / name
        assert shipped.read_bytes() == (SPECS / name).read_bytes()
        assert name in (ROOT / "specs" / "transfer-list.md").read_text(encoding="utf-8")


def test_schemas_document_every_element_in_chinese() -> None:
    xs = "{http://www.w3.org/2001/XMLSchema}"
    for name in ("transfer-list.xsd", "receipt.xsd"):
        tree = etree.parse(str(SPECS / name))
        for el in tree.iter(f"{xs}element"):
            if el.get("name") in ("package", "check", "code", "name"):
                continue  # documented on their parent types
            doc = el.findtext(f"{xs}annotation/{xs}documentation") or ""
            complex_doc = tree.find(f".//{xs}complexType[@name='{el.get('type')}']/{xs}annotation/{xs}documentation")
            text = doc or (complex_doc.text if complex_doc is not None else "")
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text), f"{name}: element {el.get('name')} has no Chinese label"


# --- hostile transfer lists ---------------------------------------------------------------------


def valid_list_xml(tl: TransferList | None = None) -> bytes:
    return transfer_list_to_xml(tl or make_list())


def edited(old: str, new: str, tl: TransferList | None = None) -> bytes:
    data = valid_list_xml(tl).decode()
    assert old in data, old
    return data.replace(old, new, 1).encode()


def first_key() -> str:
    return make_list().packages[0].key


BOMB = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;'
        b'&lol;&lol;&lol;&lol;&lol;">]>\n<transferList xmlns="urn:govarc:transfer:1">&lol2;</transferList>')
XXE = (b'<?xml version="1.0"?>\n<!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
       b'<transferList xmlns="urn:govarc:transfer:1"><workName>&x;</workName></transferList>')


def deep(levels: int) -> bytes:
    return (b'<transferList xmlns="urn:govarc:transfer:1">' + b"<a>" * levels + b"</a>" * levels + b"</transferList>")


HOSTILE_LISTS: list[tuple[str, Callable[[], bytes], str]] = [
    ("entity-bomb", lambda: BOMB, "not well-formed"),
    ("external-entity", lambda: XXE, "not well-formed"),
    ("doctype-only", lambda: b'<!DOCTYPE transferList>' + valid_list_xml().split(b"?>", 1)[1], "DOCTYPE"),
    ("deep-nesting", lambda: deep(MAX_XML_DEPTH + 5), f"more than {MAX_XML_DEPTH} levels"),
    ("oversized", lambda: valid_list_xml() + b"<!--" + b"x" * MAX_TRANSFER_DOC_BYTES + b"-->", "MAX_TRANSFER_DOC_BYTES"),
    ("empty", lambda: b"", "not well-formed"),
    ("garbage", lambda: b"\xff\xfe\x00garbage\x00", "not well-formed"),
    ("truncated", lambda: valid_list_xml()[:-40], "not well-formed"),
    ("wrong-namespace", lambda: valid_list_xml().replace(b"urn:govarc:transfer:1", b"urn:evil:transfer:1"),
     "root element is {urn:evil:transfer:1}transferList"),
    ("no-namespace", lambda: valid_list_xml().replace(b' xmlns="urn:govarc:transfer:1"', b""), "root element is transferList"),
    ("receipt-as-list", lambda: receipt_to_xml(make_receipt(make_list(), valid_list_xml())), "root element is"),
    ("unknown-element", lambda: edited("<carrier>", "<evil/><carrier>"), "not valid against its schema"),
    ("bad-batch-id", lambda: edited('batchId="LZ0012-20261130-0001"', 'batchId="../etc"'), "not valid against its schema"),
    ("batch-id-too-long", lambda: edited('batchId="LZ0012-20261130-0001"', f'batchId="{"A" * 65}"'),
     "not valid against its schema"),
    ("carrier-not-online", lambda: edited("<carrier>在线</carrier>", "<carrier>光盘</carrier>"), "not valid against its schema"),
    ("no-offset", lambda: edited('createdAt="2026-11-30T02:00:00+08:00"', 'createdAt="2026-11-30T02:00:00"'),
     "not valid against its schema"),
    ("dot-dot-key", lambda: edited(f"<key>{first_key()}</key>", "<key>../../receipts/LZ0012/x.zip</key>"), "invalid key"),
    ("absolute-key", lambda: edited(f"<key>{first_key()}</key>", "<key>/etc/passwd</key>"), "absolute"),
    ("backslash-key", lambda: edited(f"<key>{first_key()}</key>", "<key>..\\..\\x.zip</key>"), "backslash"),
    ("nfd-key", lambda: edited(f"<key>{first_key()}</key>", "<key>e\u0301.zip</key>"), "NFC"),
    ("control-char-key", lambda: edited(f"<key>{first_key()}</key>", "<key>a&#x85;b.zip</key>"), "control"),
    ("duplicate-key", lambda: edited("<key>0012-WS·2008-D30-BGS-0002.zip</key>", f"<key>{first_key()}</key>"),
     "appears twice"),
    ("duplicate-key-by-case", lambda: edited("<key>0012-WS·2008-D30-BGS-0002.zip</key>", f"<key>{first_key().upper()}</key>"),
     "appears twice"),
    ("year-lies", lambda: edited("<year>2007</year>", "<year>2009</year>"), "differ from archival code"),
    ("other-fonds", lambda: edited("<archivalCode>0012-WS·2007", "<archivalCode>0099-WS·2007"), "not in fonds 0012"),
    ("items-lie", lambda: edited("<items>2</items>", "<items>3</items>"), "items says 3"),
    ("files-lie", lambda: edited("<files>4</files>", "<files>400</files>"), "files says 400"),
    ("bytes-lie", lambda: edited("<bytes>2000</bytes>", "<bytes>1</bytes>"), "bytes says 1"),
    ("data-gb-lies", lambda: edited("<dataGB>0.000</dataGB>", "<dataGB>9.999</dataGB>"), "dataGB says 9.999"),
    ("digest-lies", lambda: edited(make_list().batch_digest, "0" * 64), "digest says 000"),
    ("size-negative", lambda: edited("<size>1000</size>", "<size>-1</size>"), "not valid against its schema"),
    ("size-huge", lambda: edited("<size>1000</size>", f"<size>{2**64}</size>"), "not valid against its schema"),
    ("too-many-files", lambda: edited("<fileCount>2</fileCount>", "<fileCount>10001</fileCount>"), "file count"),
    ("title-too-long", lambda: edited("<title>第1号文件的题名</title>", f"<title>{'长' * 2001}</title>"),
     "not valid against its schema"),
    ("no-packages", lambda: edited(valid_list_xml().decode().split("<packages>")[1].split("</packages>")[0], ""),
     "not valid against its schema"),
]


@pytest.mark.parametrize("make, expect", [(m, e) for _, m, e in HOSTILE_LISTS], ids=[n for n, _, _ in HOSTILE_LISTS])
def test_hostile_transfer_list_is_refused_in_one_line(make: Callable[[], bytes], expect: str) -> None:
    message = refused(transfer_list_from_xml, make())
    assert expect in message
    assert len(message) < 600


def test_too_many_packages_are_refused() -> None:
    one = valid_list_xml(make_list(listed(1))).decode()
    row = "<package>" + one.split("<package>")[1].split("</package>")[0] + "</package>"
    many = one.replace(row, row * (MAX_BATCH_PACKAGES + 1))
    assert "not valid against its schema" in refused(transfer_list_from_xml, many.encode())


def test_a_duplicate_archival_code_is_refused_by_reader_and_writer() -> None:
    twice = make_list(listed(1), dataclasses.replace(listed(1), key="other.zip"))
    with pytest.raises(InvalidInputError, match="archival code .* appears twice"):
        transfer_list_to_xml(twice)
    good = valid_list_xml(make_list(listed(1), listed(2))).decode()
    bad = good.replace("0012-WS·2007-Y-BGS-0002</archivalCode>", "0012-WS·2007-Y-BGS-0001</archivalCode>")
    assert "appears twice" in refused(transfer_list_from_xml, bad.encode())


@pytest.mark.parametrize("change, expect", [
    (dict(batch_id="bad/id"), "batch id"),
    (dict(batch_id=""), "batch id"),
    (dict(agency_code="-X"), "agency code"),
    (dict(fonds="00 12"), "fonds"),
    (dict(created_at="yesterday"), "createdAt"),
    (dict(created_at="2026-11-30T02:00:00"), "offset"),
    (dict(packages=()), "no package"),
    (dict(packages=(dataclasses.replace(listed(1), key="../x.zip"),)), "invalid key"),
    (dict(packages=(dataclasses.replace(listed(1), key="a//b.zip"),)), "invalid key"),
    (dict(packages=(dataclasses.replace(listed(1), sha256="A" * 64),)), "sha256"),
    (dict(packages=(dataclasses.replace(listed(1), file_count=0),)), "file count"),
    (dict(packages=(dataclasses.replace(listed(1), size=-5),)), "size"),
    (dict(packages=(dataclasses.replace(listed(1), title=" 空格"),)), "white space"),
    (dict(packages=(dataclasses.replace(listed(1), title="a\x00b"),)), "control character"),
    (dict(packages=(dataclasses.replace(listed(1), archival_code="0012-WS.2007-Y-BGS-0001"),)), "is not written as"),
    (dict(packages=(dataclasses.replace(listed(1), retention="D10"),)), "differ from archival code"),
], ids=lambda v: str(v)[:30])
def test_the_writer_refuses_what_the_reader_would(change: dict[str, object], expect: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        transfer_list_to_xml(make_list(**change))
    assert expect in str(info.value) and "\n" not in str(info.value)


# --- hostile receipts ---------------------------------------------------------------------------


def valid_receipt_xml() -> bytes:
    tl = make_list(listed(1), listed(2), listed(3))
    return receipt_to_xml(make_receipt(tl, transfer_list_to_xml(tl)))


def redit(old: str, new: str) -> bytes:
    data = valid_receipt_xml().decode()
    assert old in data, old
    return data.replace(old, new, 1).encode()


HOSTILE_RECEIPTS: list[tuple[str, Callable[[], bytes], str]] = [
    ("entity-bomb", lambda: BOMB.replace(b"transferList", b"receipt"), "not well-formed"),
    ("deep-nesting", lambda: deep(200).replace(b"transferList", b"receipt"), "levels deep"),
    ("oversized", lambda: b" " * (MAX_TRANSFER_DOC_BYTES + 1), "MAX_TRANSFER_DOC_BYTES"),
    ("list-as-receipt", lambda: valid_list_xml(), "root element is {urn:govarc:transfer:1}transferList"),
    ("accepted-yet-failed", lambda: redit('result="passed"', 'result="failed"'), "accepted, yet a check failed"),
    ("rejected-yet-nothing-failed", lambda: redit('result="failed"', 'result="passed"'), "rejected, yet no check failed"),
    ("property-misfit", lambda: redit('code="1-1" property="真实性"', 'code="1-1" property="安全性"'), "does not fit the code"),
    ("bad-check-code", lambda: redit('code="1-1"', 'code="9-1"'), "not valid against its schema"),
    ("bad-verdict", lambda: redit('verdict="accepted"', 'verdict="maybe"'), "not valid against its schema"),
    ("bad-result", lambda: redit('result="not-performed"', 'result="skipped"'), "not valid against its schema"),
    ("no-checks", lambda: redit(valid_receipt_xml().decode().split("<checks>")[1].split("</checks>")[0], ""),
     "not valid against its schema"),
    ("accepted-lies", lambda: redit("<accepted>1</accepted>", "<accepted>3</accepted>"), "accepted says 3"),
    ("rejected-lies", lambda: redit("<rejected>1</rejected>", "<rejected>0</rejected>"), "rejected says 0"),
    ("bytes-lie", lambda: redit("<acceptedBytes>1000</acceptedBytes>", "<acceptedBytes>3000</acceptedBytes>"),
     "acceptedBytes says 3000"),
    ("dot-dot-holdings-key", lambda: redit("<holdingsKey>holdings/", "<holdingsKey>../../holdings/"), "invalid key"),
    ("dot-dot-key", lambda: redit("<key>0012-WS·2007-Y-BGS-0001.zip", "<key>../0012-WS·2007-Y-BGS-0001.zip"), "invalid key"),
    ("bad-list-digest", lambda: redit('<transferListDigest algorithm="SHA-256">',
                                      '<transferListDigest algorithm="MD5">'), "not valid against its schema"),
]


@pytest.mark.parametrize("make, expect", [(m, e) for _, m, e in HOSTILE_RECEIPTS], ids=[n for n, _, _ in HOSTILE_RECEIPTS])
def test_hostile_receipt_is_refused_in_one_line(make: Callable[[], bytes], expect: str) -> None:
    assert expect in refused(receipt_from_xml, make(), "receipts/LZ0012/B/receipt.xml")


def test_a_rejected_package_has_no_holdings_key_and_checks_are_bounded() -> None:
    tl = make_list(listed(1), listed(2))
    r = make_receipt(tl, transfer_list_to_xml(tl))
    rejected = r.verdicts[1]
    with pytest.raises(InvalidInputError, match="no place in the holdings"):
        receipt_to_xml(dataclasses.replace(r, verdicts=(r.verdicts[0], dataclasses.replace(rejected, holdings_key="h/x.zip"))))
    many = tuple(Check("2-1", f"检测 {i}", "完整性", CheckResult.PASSED) for i in range(MAX_CHECKS_PER_PACKAGE + 1))
    with pytest.raises(InvalidInputError, match="MAX_CHECKS_PER_PACKAGE"):
        receipt_to_xml(dataclasses.replace(r, verdicts=(dataclasses.replace(r.verdicts[0], checks=many),)))


def test_receipt_problems_name_what_does_not_answer_the_list() -> None:
    tl = make_list(listed(1), listed(2))
    data = transfer_list_to_xml(tl)
    r = make_receipt(tl, data)
    other = make_list(listed(1), listed(3), batch_id="LZ0012-20261130-0002")
    problems = receipt_problems(r, other, transfer_list_to_xml(other))
    assert any("batch" in p for p in problems)
    assert any("digest differs" in p for p in problems)
    assert any("0012-WS·2007-Y-BGS-0003.zip is listed but has no verdict" in p for p in problems)
    assert any("0012-WS·2007-Y-BGS-0002.zip has a verdict but was not listed" in p for p in problems)
    assert receipt_problems(r, tl, data + b" ") == ["the receipt answers other transfer-list bytes (its digest differs)"]


# --- signatures ---------------------------------------------------------------------------------


def openssl_verify(sig: Path, content: Path, ca: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OPENSSL, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(sig), "-content",
                           str(content), "-CAfile", str(ca), "-purpose", "any", "-out", "/dev/null"],
                          capture_output=True, text=True, check=False)


def test_signed_list_and_receipt_verify_with_govarc_and_openssl(pki: Pki, tmp_path: Path) -> None:  # noqa: F811
    tl = make_list()
    data = transfer_list_to_xml(tl)
    sig = sign_document(data, pki.creds["agency"])
    assert verify_document(data, sig, WHERE + ".p7s", pki.policy(), AGENCY) == []
    receipt = receipt_to_xml(make_receipt(tl, data))
    rsig = sign_document(receipt, pki.creds["archives"])
    assert verify_document(receipt, rsig, "receipt.xml.p7s", pki.policy(), ARCHIVES) == []
    report = check_document(receipt, rsig, "receipt.xml.p7s", pki.policy(), ARCHIVES)
    assert report.identity == ARCHIVES and report.valid
    for name, content, signature in (("transfer-list.xml", data, sig), ("receipt.xml", receipt, rsig)):
        (tmp_path / name).write_bytes(content)
        (tmp_path / f"{name}.p7s").write_bytes(signature)
        done = openssl_verify(tmp_path / f"{name}.p7s", tmp_path / name, pki.dir / "ca.pem")
        assert done.returncode == 0, done.stderr
        assert "Verification successful" in done.stderr
    (tmp_path / "transfer-list.xml").write_bytes(data.replace(b"<size>1000</size>", b"<size>1001</size>", 1))
    assert openssl_verify(tmp_path / "transfer-list.xml.p7s", tmp_path / "transfer-list.xml", pki.dir / "ca.pem").returncode != 0
    assert openssl_verify(tmp_path / "receipt.xml.p7s", tmp_path / "receipt.xml", pki.dir / "other-ca.pem").returncode != 0


@pytest.mark.parametrize("signer, code", [
    ("other_agency", "SIGNER_WRONG_AGENCY"),  # a valid certificate of another agency
    ("archives", "SIGNER_WRONG_AGENCY"),  # the archives cannot sign for the agency
    ("untrusted", "SIGNER_UNTRUSTED"),
    ("revoked", "SIGNER_REVOKED"),
    ("expired", "SIGNER_EXPIRED"),
    ("no_sign", "SIGNER_KEY_USAGE"),
    ("rsa1024", "SIGNATURE_ALGORITHM_WEAK"),
])
def test_a_list_signed_by_the_wrong_party_is_caught(pki: Pki, signer: str, code: str) -> None:  # noqa: F811
    data = transfer_list_to_xml(make_list())
    sig = sign_document(data, pki.creds[signer])
    findings = verify_document(data, sig, WHERE + ".p7s", pki.policy(), AGENCY)
    assert code in {f.code for f in findings}
    assert all(f.path == WHERE + ".p7s" for f in findings)


def test_a_receipt_signed_by_the_agency_is_not_the_archives(pki: Pki) -> None:  # noqa: F811
    tl = make_list()
    receipt = receipt_to_xml(make_receipt(tl, transfer_list_to_xml(tl)))
    findings = verify_document(receipt, sign_document(receipt, pki.creds["agency"]), "receipt.xml.p7s", pki.policy(), ARCHIVES)
    assert [f.code for f in findings] == ["SIGNER_WRONG_AGENCY"]
    assert "'LZ0012'" in findings[0].message and "'DA0001'" in findings[0].message


@pytest.mark.parametrize("tamper, code", [
    (lambda d, s: (d.replace(b"<size>1000</size>", b"<size>1001</size>", 1), s), "SIGNATURE_INVALID"),
    (lambda d, s: (d + b"\n", s), "SIGNATURE_INVALID"),
    (lambda d, s: (d, s[:-10]), "SIGNATURE_MALFORMED"),
    (lambda d, s: (d, b""), "SIGNATURE_MALFORMED"),
    (lambda d, s: (d, b"-----BEGIN PKCS7-----\nnot der\n"), "SIGNATURE_MALFORMED"),
    (lambda d, s: (d, s + b"\0" * MAX_TAG_FILE_BYTES), "LIMIT_EXCEEDED"),
    (lambda d, s: (d + b" " * MAX_TRANSFER_DOC_BYTES, s), "LIMIT_EXCEEDED"),
], ids=["changed-byte", "appended-newline", "truncated-sig", "empty-sig", "pem-garbage", "huge-sig", "huge-document"])
def test_tampered_documents_and_signatures(pki: Pki, tamper: Callable[[bytes, bytes], tuple[bytes, bytes]],  # noqa: F811
                                           code: str) -> None:
    data = transfer_list_to_xml(make_list())
    sig = sign_document(data, pki.creds["agency"])
    findings = verify_document(*tamper(data, sig), "transfer-list.xml.p7s", pki.policy(), AGENCY)
    assert [f.code for f in findings] == [code]
    if code == "SIGNATURE_INVALID":
        assert "transfer-list.xml" in findings[0].message and "tagmanifest" not in findings[0].message


def test_no_trust_anchors_is_not_valid(pki: Pki) -> None:  # noqa: F811
    data = transfer_list_to_xml(make_list())
    findings = verify_document(data, sign_document(data, pki.creds["agency"]), "t.p7s", pki.policy(anchors=()), AGENCY)
    assert [f.code for f in findings] == ["SIGNER_NO_TRUST_ANCHORS"]
