"""Verify a package against the profile: structure, every digest, Payload-Oxum, metadata, paths.

Every problem becomes a :class:`Finding`; the verifier never stops at the first one. Signatures
are checked by :mod:`govarc.sign`, which reads the same package through the same reader.

Resources are bounded whatever the package (specs/limits.md): a tag file is read into memory only
within MAX_TAG_FILE_BYTES and MAX_COMPRESSION_RATIO, its lines are counted and measured as they
are parsed, and record.xml's nesting is measured before it is parsed. Over a limit is the finding
``LIMIT_EXCEEDED`` naming the file, which is then not read further; payload files are only
streamed, never held.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from govarc import limits
from govarc.domain import archival_code_text
from govarc.findings import Finding, Level, exit_code
from govarc.package import layout
from govarc.package.hashing import Algorithm, Progress, default_workers, digest_stream, parallel_map
from govarc.package.manifest import (
    BAGIT_TXT,
    TagLimitError,
    bag_info_get,
    manifest_algorithm,
    nfc,
    parse_bag_info,
    parse_manifest,
    parse_oxum,
    unsafe_reason,
)
from govarc.package.schema import NS, schema_errors
from govarc.package.reader import LimitExceeded, PackageReader, open_package
from govarc.xmlsafe import parse_bytes


# From this many payload and tag bytes to hash, record.xml is checked while the payload is hashed.
OVERLAP_BYTES = 64 * 1024 * 1024
# Files totalling less are hashed on the calling thread: a one-record package hashes in well under
# a millisecond, less than starting the threads costs.
THREADED_BYTES = 1024 * 1024


@dataclass(frozen=True)
class VerifyResult:
    """The verdict on one package: every finding, and what it says about itself."""

    path: str
    findings: tuple[Finding, ...]
    bag_info: tuple[tuple[str, str], ...] = ()
    signers: tuple[dict[str, object], ...] = field(default=())

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level is Level.ERROR)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def exit_code(self) -> int:
        """0 when valid; 3 when any error is about integrity; else 4 (signature errors only)."""
        return exit_code(self.findings)

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "valid": self.valid,
            "archival_code": bag_info_get(list(self.bag_info), "External-Identifier"),
            "agency_code": bag_info_get(list(self.bag_info), "Source-Organization-Identifier"),
            "signers": list(self.signers),
            "findings": [f.as_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class VerifyReport:
    """The verdict on several packages: valid when every one is; its exit code is the worst one's."""

    results: tuple[VerifyResult, ...]

    @property
    def valid(self) -> bool:
        return all(r.valid for r in self.results)

    @property
    def exit_code(self) -> int:
        """0 when every package is valid; 3 when any has an integrity error; else 4 for signature errors."""
        return exit_code(f for r in self.results for f in r.findings)

    def as_dict(self) -> dict[str, object]:
        return {"valid": self.valid, "packages": [r.as_dict() for r in self.results]}


@dataclass
class _Manifest:
    name: str
    algorithm: Algorithm
    entries: dict[str, str]  # NFC path -> digest


class _Check:
    """State of one verification run; each method adds findings."""

    def __init__(self, reader: PackageReader, progress: Progress | None, workers: int | None) -> None:
        self.r = reader
        self.progress = progress
        self.workers = workers
        self.findings: list[Finding] = list(reader.problems)
        self.bag_info: list[tuple[str, str]] = []
        self.over_limit: set[str] = set()  # tag files found over a limit: never read again
        # NFC name -> stored name, for matching manifest paths written NFC against NFD names on disk.
        # Two stored names with one NFC form ("twins") must not hide each other: the one already
        # in NFC wins, the others are reported as unlisted.
        self.by_nfc: dict[str, str] = {}
        self.nfc_twins: list[str] = []
        for name in sorted(n for n, e in reader.entries.items() if e.kind == "file"):
            key = nfc(name)
            other = self.by_nfc.get(key)
            if other is None:
                self.by_nfc[key] = name
            elif name == key:
                self.nfc_twins.append(other)
                self.by_nfc[key] = name
            else:
                self.nfc_twins.append(name)

    def add(self, code: str, path: str, message: str) -> None:
        self.findings.append(Finding(code, path, message))

    def read(self, name: str, missing_code: str) -> bytes | None:
        """The bytes of a tag file, or None with a finding when it cannot be read.

        In a zip that is a CRC error or corrupt data (ZIP_INVALID); in a folder the file is as
        good as missing (``missing_code``). A file over a limit is ``LIMIT_EXCEEDED``, once.
        Either way the other checks go on.
        """
        if name in self.over_limit:
            return None
        try:
            return self.r.read(name)
        except LimitExceeded as e:
            self.over_limit_at(name, e.reason)
            return None
        except OSError as e:
            self.add("ZIP_INVALID" if self.r.is_zip else missing_code, name, f"cannot be read: {e}")
            return None

    def over_limit_at(self, name: str, reason: str) -> None:
        self.over_limit.add(name)
        self.add("LIMIT_EXCEEDED", name, f"{reason}; not read further")

    def text(self, name: str, missing_code: str) -> str | None:
        data = self.read(name, missing_code)
        if data is None:
            return None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.add("MANIFEST_MALFORMED" if "manifest" in name else "BAG_INFO_MALFORMED", name, "not UTF-8 text")
            return None

    def run(self) -> None:
        self.check_tag_sizes()
        self.check_bagit_txt()
        if not any(layout.is_payload(n) for n in self.r.entries):
            self.add("DATA_DIR_MISSING", layout.DATA_DIR + "/", "no payload folder data/ (or it is empty)")
        self.check_bag_info()
        manifests = self.read_manifests(layout.MANIFEST_PREFIX, "MANIFEST_MISSING", layout.REQUIRED_MANIFEST)
        tagmanifests = self.read_manifests(layout.TAGMANIFEST_PREFIX, "TAGMANIFEST_MISSING", layout.REQUIRED_TAGMANIFEST)
        self.check_payload_listing(manifests)
        self.check_tag_listing(tagmanifests)
        wanted, names = self.digest_plan(manifests, tagmanifests)
        total = sum(self.r.entries[self.by_nfc[n]].size for n in names)
        if total < OVERLAP_BYTES or (self.workers or default_workers()) < 2:
            self.report_digests(wanted, self.digests(wanted, names, 1 if total < THREADED_BYTES else self.workers))
            self.check_oxum()
            self.check_metadata(manifests)
            return
        # A big package: record.xml (parsed, measured, checked against the XSD and the payload:
        # ~0.1 s for 6,000 files) is checked on this thread while the others hash the payload,
        # which needs nothing from it. The findings keep their order: digests, Payload-Oxum, metadata.
        got: list[tuple[str, dict[Algorithm, str] | str]] = []
        failed: list[BaseException] = []

        def hash_all() -> None:
            try:
                got.extend(self.digests(wanted, names, self.workers))
            except BaseException as e:  # re-raised on this thread
                failed.append(e)

        hashing = threading.Thread(target=hash_all, name="govarc-digests", daemon=True)
        hashing.start()
        before = self.findings
        self.findings = []
        try:
            self.check_metadata(manifests)
        finally:
            metadata, self.findings = self.findings, before
            hashing.join()
        if failed:
            raise failed[0]
        self.report_digests(wanted, got)
        self.check_oxum()
        self.findings.extend(metadata)

    def check_tag_sizes(self) -> None:
        """Judge every file that is read whole (tag files, signatures) by its declared size first.

        Done before anything is read, so a file over a limit is neither parsed nor digested.
        """
        whole = {layout.BAGIT_TXT, layout.BAG_INFO, layout.RECORD_XML}
        for name in sorted(self.r.entries):
            if not self.r.has_file(name) or not (
                name in whole or layout.is_manifest(name) or layout.is_tagmanifest(name) or layout.is_signature(name)
            ):
                continue
            reason = self.r.limit_problem(name)
            if reason:
                self.over_limit_at(name, reason)

    def check_bagit_txt(self) -> None:
        if not self.r.has_file(layout.BAGIT_TXT):
            self.add("BAGIT_TXT_MISSING", layout.BAGIT_TXT, "bagit.txt is missing")
            return
        data = self.read(layout.BAGIT_TXT, "BAGIT_TXT_MISSING")
        if data is None:
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        try:
            fields, _ = parse_bag_info(text)
        except TagLimitError as e:
            self.over_limit_at(layout.BAGIT_TXT, str(e))
            return
        if bag_info_get(fields, "BagIt-Version") != "1.0" or (
            (bag_info_get(fields, "Tag-File-Character-Encoding") or "").upper() != "UTF-8"
        ):
            self.add("BAGIT_TXT_INVALID", layout.BAGIT_TXT, f"expected {BAGIT_TXT!r}")

    def check_bag_info(self) -> None:
        if not self.r.has_file(layout.BAG_INFO):
            self.add("BAG_INFO_MISSING", layout.BAG_INFO, "bag-info.txt is missing")
            return
        text = self.text(layout.BAG_INFO, "BAG_INFO_MISSING")
        if text is None:
            return
        try:
            self.bag_info, problems = parse_bag_info(text)
        except TagLimitError as e:
            self.over_limit_at(layout.BAG_INFO, str(e))
            return
        for p in problems:
            self.add("BAG_INFO_MALFORMED", layout.BAG_INFO, f"line {p.lineno} is not `Label: value`: {p.text[:60]!r}")
        for label in layout.REQUIRED_BAG_INFO:
            if not bag_info_get(self.bag_info, label):
                self.add("BAG_INFO_FIELD_MISSING", layout.BAG_INFO, f"required field {label} is missing or empty")
        profile = bag_info_get(self.bag_info, "BagIt-Profile-Identifier")
        if profile and profile not in layout.SUPPORTED_PROFILES:
            self.add("PROFILE_UNSUPPORTED", layout.BAG_INFO, f"unknown profile {profile!r}")

    def read_manifests(self, prefix: str, missing_code: str, required: str) -> list[_Manifest]:
        out = []
        check = layout.is_manifest if prefix == layout.MANIFEST_PREFIX else layout.is_tagmanifest
        names = sorted(n for n in self.r.entries if check(n) and self.r.has_file(n))
        if required not in names:
            self.add(missing_code, required, f"{required} is missing")
        for name in names:
            alg = manifest_algorithm(name, prefix)
            if not isinstance(alg, Algorithm):
                self.add("ALGORITHM_UNAVAILABLE", name, f"unknown algorithm {alg!r}; not checked")
                continue
            if alg.weak:
                self.add("ALGORITHM_WEAK", name, f"{alg.value} gives no assurance against tampering")
            if not alg.available:
                self.add("ALGORITHM_UNAVAILABLE", name, f"{alg.value} is not available here; not checked")
                continue
            text = self.text(name, missing_code if name == required else "TAG_FILE_MISSING")
            if text is None:
                continue
            try:
                lines, problems = parse_manifest(text, alg)
            except TagLimitError as e:
                self.over_limit_at(name, str(e))
                continue
            for p in problems:
                self.add("MANIFEST_MALFORMED", name, f"line {p.lineno}: {p.reason}: {p.text[:80]!r}")
            entries: dict[str, str] = {}
            for line in lines:
                reason = unsafe_reason(line.path)
                if reason:
                    self.add("UNSAFE_PATH", name, f"line {line.lineno} names {line.path!r}: {reason}")
                    continue
                key = nfc(line.path)
                if key in entries:
                    self.add("MANIFEST_DUPLICATE", name, f"line {line.lineno} lists {line.path!r} again")
                    continue
                if prefix == layout.MANIFEST_PREFIX and not layout.is_payload(key):
                    self.add("UNSAFE_PATH", name, f"line {line.lineno} names {line.path!r}, outside data/")
                    continue
                entries[key] = line.digest
            out.append(_Manifest(name, alg, entries))
        return out

    def check_payload_listing(self, manifests: list[_Manifest]) -> None:
        on_disk = {n for n in self.by_nfc if layout.is_payload(n)}
        primary = next((m for m in manifests if m.name == layout.REQUIRED_MANIFEST), None)
        for m in manifests:
            for name in sorted(set(m.entries) - on_disk):
                self.add("PAYLOAD_FILE_MISSING", name, f"listed in {m.name} but not in the package")
            if primary is not None and m is not primary and set(m.entries) != set(primary.entries):
                self.add("MANIFEST_INCOMPLETE", m.name, f"does not list the same files as {primary.name}")
        listed = set().union(*(m.entries for m in manifests)) if manifests else set()
        if manifests:
            for name in sorted(on_disk - listed):
                self.add("PAYLOAD_FILE_UNLISTED", name, "in data/ but not in the payload manifest")
        for name in sorted(on_disk):
            if nfc(self.by_nfc[name]) != self.by_nfc[name]:
                self.add("NAME_NOT_NFC", self.by_nfc[name], "file name is not in Unicode NFC form")
        for twin in self.nfc_twins:
            code = "PAYLOAD_FILE_UNLISTED" if layout.is_payload(twin) else "TAG_FILE_UNLISTED"
            self.add(code, twin, f"same name as {self.by_nfc[nfc(twin)]} after Unicode NFC normalisation; not listed")

    def check_tag_listing(self, tagmanifests: list[_Manifest]) -> None:
        tag_files = {
            n for n in self.by_nfc
            if not layout.is_payload(n) and not layout.is_tagmanifest(n) and not layout.is_signature(n)
        }
        for m in tagmanifests:
            for name in sorted(set(m.entries) - tag_files):
                if layout.is_payload(name) or layout.is_tagmanifest(name) or layout.is_signature(name):
                    self.add("UNSAFE_PATH", m.name, f"{name!r} has no place in a tag manifest")
                else:
                    self.add("TAG_FILE_MISSING", name, f"listed in {m.name} but not in the package")
            required = {layout.BAGIT_TXT, layout.BAG_INFO, layout.RECORD_XML} | {
                n for n in tag_files if layout.is_manifest(n)
            }
            for name in sorted(tag_files - set(m.entries)):
                if name in required:  # one finding per omission, not two
                    self.add("TAGMANIFEST_INCOMPLETE", m.name, f"does not list {name}")
                else:
                    self.add("TAG_FILE_UNLISTED", name, f"tag file not listed in {m.name}")

    def digest_plan(self, manifests: list[_Manifest], tagmanifests: list[_Manifest],
                    ) -> tuple[dict[str, list[tuple[_Manifest, str]]], list[str]]:
        """What each file must digest to (one pass per file with every algorithm that lists it),
        and the files in the order to read them: biggest first, so no big file ends the run alone."""
        wanted: dict[str, list[tuple[_Manifest, str]]] = {}
        for m in manifests + tagmanifests:
            for name, digest in m.entries.items():
                if name in self.by_nfc and self.r.has_file(self.by_nfc[name]) and self.by_nfc[name] not in self.over_limit:
                    wanted.setdefault(name, []).append((m, digest))
        names = sorted(wanted, key=lambda n: -self.r.entries[self.by_nfc[n]].size)
        return wanted, names

    def digests(self, wanted: dict[str, list[tuple[_Manifest, str]]], names: list[str], workers: int | None,
                ) -> list[tuple[str, dict[Algorithm, str] | str]]:
        """The digests of ``names`` (or why a file cannot be read), on ``workers`` threads (None: a thread per core)."""

        def work(name: str) -> tuple[str, dict[Algorithm, str] | str]:
            algs = list(dict.fromkeys(m.algorithm for m, _ in wanted[name]))
            kept = self.r.whole(self.by_nfc[name])
            if kept is not None:  # a tag file already read whole: digest those bytes, do not read again
                return name, digest_stream(io.BytesIO(kept), algs, progress=self.progress).hexdigests
            try:
                with self.r.open(self.by_nfc[name]) as f:
                    return name, digest_stream(f, algs, progress=self.progress).hexdigests
            except OSError as e:  # the reader reports zip CRC and data errors as OSError too
                return name, str(e)

        return list(parallel_map(work, names, workers))

    def report_digests(self, wanted: dict[str, list[tuple[_Manifest, str]]],
                       results: list[tuple[str, dict[Algorithm, str] | str]]) -> None:
        for name, got in results:
            if isinstance(got, str):
                code = "ZIP_INVALID" if self.r.is_zip else (
                    "PAYLOAD_FILE_MISSING" if layout.is_payload(name) else "TAG_FILE_MISSING")
                self.add(code, name, f"cannot be read: {got}")
                continue
            for m, expected in wanted[name]:
                if got[m.algorithm] != expected:
                    code = "PAYLOAD_DIGEST_MISMATCH" if layout.is_payload(name) else "TAG_DIGEST_MISMATCH"
                    self.add(code, name, f"{m.algorithm.value} is {got[m.algorithm][:16]}…, {m.name} says {expected[:16]}…")

    def check_oxum(self) -> None:
        value = bag_info_get(self.bag_info, "Payload-Oxum")
        if value is None:
            return
        oxum = parse_oxum(value)
        payload = [e for n, e in self.r.entries.items() if layout.is_payload(n) and e.kind == "file"]
        actual = (sum(e.size for e in payload), len(payload))
        if oxum is None:
            self.add("OXUM_MISMATCH", layout.BAG_INFO, f"Payload-Oxum {value!r} is not `octets.count`")
        elif oxum != actual:
            self.add("OXUM_MISMATCH", layout.BAG_INFO, f"Payload-Oxum says {value}, payload is {actual[0]}.{actual[1]}")

    def check_metadata(self, manifests: list[_Manifest]) -> None:
        if not self.r.has_file(layout.RECORD_XML):
            self.add("METADATA_MISSING", layout.RECORD_XML, "metadata/record.xml is missing")
            return
        data = self.read(layout.RECORD_XML, "METADATA_MISSING")
        if data is None:
            return
        # Parsed first (the hardened parser resolves nothing and stops at libxml2's own depth
        # limit), then measured on the tree; a document that does not parse is measured by
        # streaming it, so one nested too deep is LIMIT_EXCEEDED whether or not it is well-formed.
        too_deep = f"elements nested deeper than {limits.MAX_XML_DEPTH} (MAX_XML_DEPTH)"
        try:
            tree = parse_bytes(data)
        except etree.XMLSyntaxError as e:
            if xml_depth_over(data, limits.MAX_XML_DEPTH):
                self.over_limit_at(layout.RECORD_XML, too_deep)
            else:
                self.add("METADATA_NOT_WELLFORMED", layout.RECORD_XML, str(e))
            return
        if tree_depth_over(tree, limits.MAX_XML_DEPTH):
            self.over_limit_at(layout.RECORD_XML, too_deep)
            return
        errors = schema_errors(tree)
        for err in errors:
            self.add("METADATA_INVALID", layout.RECORD_XML, err)
        if errors:
            return
        self.check_metadata_agrees(tree, manifests)

    def check_metadata_self(self, root: etree._Element) -> None:
        """What the XSD cannot say: the 档号 string agrees with its parts and with 保管期限; one main file."""
        ns = {"r": NS}
        code = root.find("r:archivalCode", ns)
        parts = {k: (code.findtext(f"r:{k}", namespaces=ns) or "") for k in ("fonds", "category", "year", "retention", "unit", "itemNumber")}  # type: ignore[union-attr]
        expected = archival_code_text(parts["fonds"], parts["category"], parts["year"], parts["retention"],
                                      parts["unit"], int(parts["itemNumber"] or 0))
        value = code.get("value")  # type: ignore[union-attr]
        if value != expected:
            self.add("METADATA_INVALID", layout.RECORD_XML, f"archivalCode {value!r} disagrees with its parts ({expected})")
        retention = root.findtext("r:retention", namespaces=ns)
        if retention != parts["retention"]:
            self.add("METADATA_INVALID", layout.RECORD_XML, f"retention {retention!r} disagrees with the archival code's {parts['retention']!r}")
        mains = root.findall("r:files/r:file[@role='main']", ns)
        if root.find("r:files", ns) is not None and len(mains) != 1:
            self.add("METADATA_INVALID", layout.RECORD_XML, f"{len(mains)} files have role main; exactly one must")

    def check_metadata_agrees(self, tree: etree._ElementTree, manifests: list[_Manifest]) -> None:
        ns = {"r": NS}
        root = tree.getroot()
        pairs = [
            ("External-Identifier", root.find("r:archivalCode", ns).get("value"), "archival code"),  # type: ignore[union-attr]
            ("Source-Organization-Identifier", root.findtext("r:provenance/r:agencyCode", namespaces=ns), "agency code"),
        ]
        for label, value, what in pairs:
            info = bag_info_get(self.bag_info, label)
            if info is not None and info != value:
                self.add("METADATA_MISMATCH", layout.RECORD_XML, f"{what} {value!r} differs from bag-info {label} {info!r}")
        self.check_metadata_self(root)
        files = {}
        for fe in root.iterfind("r:files/r:file", ns):
            name = nfc(fe.findtext("r:name", namespaces=ns) or "")
            files[f"{layout.DATA_DIR}/{name}"] = (
                int(fe.findtext("r:size", namespaces=ns) or -1),
                {d.get("algorithm"): d.text for d in fe.iterfind("r:digest", ns)},
            )
        payload = {n: self.r.entries[self.by_nfc[n]].size for n in self.by_nfc if layout.is_payload(n)}
        for name in sorted(set(payload) - set(files)):
            self.add("METADATA_MISMATCH", layout.RECORD_XML, f"does not describe payload file {name}")
        for name in sorted(set(files) - set(payload)):
            self.add("METADATA_MISMATCH", layout.RECORD_XML, f"describes {name}, which is not in the payload")
        for name in sorted(set(files) & set(payload)):
            size, digests = files[name]
            if size != payload[name]:
                self.add("METADATA_MISMATCH", layout.RECORD_XML, f"gives {name} {size} bytes; it has {payload[name]}")
            for m in manifests:
                want = digests.get(m.algorithm.value)
                if want is not None and name in m.entries and m.entries[name] != want:
                    self.add("METADATA_MISMATCH", layout.RECORD_XML, f"{m.algorithm.value} of {name} differs from {m.name}")


class _Depth:
    """Counts element depth over (event, element) pairs of ``start``/``end`` events, across calls."""

    def __init__(self, limit: int, *, clear: bool = False) -> None:
        self.limit = limit
        self.clear = clear  # drop each finished element: only the depth matters (streaming)
        self.depth = 0

    def over(self, events: Iterable[tuple[str, Any]]) -> bool:
        """Whether these events take the depth past the limit (the root is depth 1)."""
        for event, elem in events:
            if event == "start":
                self.depth += 1
                if self.depth > self.limit:
                    return True
            else:
                self.depth -= 1
                if self.clear:
                    elem.clear()
        return False


def tree_depth_over(tree: etree._ElementTree | etree._Element, limit: int) -> bool:
    """Whether elements of a parsed document nest deeper than ``limit`` (the root is depth 1)."""
    return _Depth(limit).over(etree.iterwalk(tree, events=("start", "end")))


def xml_depth_over(data: bytes, limit: int) -> bool:
    """Whether elements in ``data`` nest deeper than ``limit``, found by streaming it.

    Stops at the first element too deep, before building the rest of the tree. Malformed XML is
    not judged here (False): the full parse reports it. Entities are never resolved.
    """
    parser = etree.XMLPullParser(
        events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
    )
    depth = _Depth(limit, clear=True)

    def too_deep() -> bool:
        return depth.over(parser.read_events())

    step = 16 * 1024
    try:
        for at in range(0, len(data), step):
            parser.feed(data[at:at + step])
            if too_deep():
                return True
        parser.close()
    except etree.XMLSyntaxError:
        # libxml2 stops at its own depth limit (256) with an error; the events before it count.
        return too_deep()
    return too_deep()


def verify_package(
    path: Path,
    *,
    progress: Progress | None = None,
    workers: int | None = None,
    extra: Callable[[PackageReader, list[tuple[str, str]]], tuple[list[Finding], list[dict[str, object]]]] | None = None,
) -> VerifyResult:
    """Check one package (directory or .zip) and return every finding.

    ``extra`` runs further checks on the open package (the signature layer uses it) and returns
    its findings and signer descriptions.
    """
    path = Path(path)
    try:
        with open_package(path) as reader:
            check = _Check(reader, progress, workers)
            check.run()
            signers: list[dict[str, object]] = []
            if extra is not None:
                more, signers = extra(reader, check.bag_info)
                check.findings.extend(more)
            return VerifyResult(str(path), tuple(check.findings), tuple(check.bag_info), tuple(signers))
    except LimitExceeded as e:
        return VerifyResult(str(path), (Finding("LIMIT_EXCEEDED", e.name, f"{e.reason}; not read further"),))
    except (FileNotFoundError, NotADirectoryError):
        why = ("a symbolic link, which is never followed; verify its target" if path.is_symlink()
               else "no package directory or .zip here")
        return VerifyResult(str(path), (Finding("PKG_NOT_FOUND", str(path), why),))
    except Exception as e:
        import zipfile  # loaded already if a zip was opened: zipfile is imported for zips only

        if not isinstance(e, zipfile.BadZipFile):
            raise
        return VerifyResult(str(path), (Finding("ZIP_INVALID", path.name, f"cannot read the zip: {e}"),))
