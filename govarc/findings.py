"""Verification findings: stable codes, their level and meaning, mirrored in specs/findings.md.

A test parses specs/findings.md and checks that it lists exactly the codes below with the same
level and kind. Add a code in both places or in neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from govarc.errors import EXIT_INVALID, EXIT_OK, EXIT_SIGNATURE


class Level(str, Enum):
    ERROR = "error"
    WARNING = "warning"


class Kind(str, Enum):
    """What a finding is about; decides the exit code (integrity 3, signature 4)."""

    INTEGRITY = "integrity"
    SIGNATURE = "signature"
    INGEST = "ingest"
    CATALOG = "catalog"
    EXCHANGE = "exchange"
    AUDIT = "audit"


@dataclass(frozen=True)
class CodeInfo:
    code: str
    level: Level
    kind: Kind
    meaning: str


_E, _W = Level.ERROR, Level.WARNING
_I, _S, _G, _C, _X, _A = Kind.INTEGRITY, Kind.SIGNATURE, Kind.INGEST, Kind.CATALOG, Kind.EXCHANGE, Kind.AUDIT

CODES: dict[str, CodeInfo] = {
    c.code: c
    for c in [
        CodeInfo("PKG_NOT_FOUND", _E, _I, "The path is neither a package directory nor a .zip file."),
        CodeInfo("ZIP_INVALID", _E, _I, "The .zip cannot be read, or an entry fails its CRC check."),
        CodeInfo("ZIP_LAYOUT", _E, _I, "The .zip does not hold exactly one top-level folder with the bag in it."),
        CodeInfo("ZIP_UNSAFE_ENTRY", _E, _I, "A zip entry is absolute, contains `..` or a backslash, or is a link."),
        CodeInfo("LINK_IN_PACKAGE", _E, _I, "The package contains a symbolic link, hard link or special file."),
        CodeInfo("UNSAFE_PATH", _E, _I, "A manifest line names an absolute path, `..`, or a path outside the package."),
        CodeInfo("BAGIT_TXT_MISSING", _E, _I, "`bagit.txt` is missing."),
        CodeInfo("BAGIT_TXT_INVALID", _E, _I, "`bagit.txt` is not `BagIt-Version: 1.0` with `Tag-File-Character-Encoding: UTF-8`."),
        CodeInfo("DATA_DIR_MISSING", _E, _I, "The `data/` payload folder is missing."),
        CodeInfo("MANIFEST_MISSING", _E, _I, "`manifest-sha256.txt` is missing."),
        CodeInfo("TAGMANIFEST_MISSING", _E, _I, "`tagmanifest-sha256.txt` is missing."),
        CodeInfo("MANIFEST_MALFORMED", _E, _I, "A manifest line is not `<hex digest> <path>` with a digest of the right length."),
        CodeInfo("MANIFEST_DUPLICATE", _E, _I, "A manifest names the same path twice (after Unicode NFC normalisation)."),
        CodeInfo("MANIFEST_INCOMPLETE", _E, _I, "A payload manifest does not list the same files as `manifest-sha256.txt`."),
        CodeInfo("PAYLOAD_DIGEST_MISMATCH", _E, _I, "A payload file's digest differs from its manifest entry."),
        CodeInfo("PAYLOAD_FILE_MISSING", _E, _I, "A file listed in a payload manifest is not in `data/`."),
        CodeInfo("PAYLOAD_FILE_UNLISTED", _E, _I, "A file in `data/` is not listed in the payload manifest."),
        CodeInfo("TAG_DIGEST_MISMATCH", _E, _I, "A tag file's digest differs from its tag manifest entry."),
        CodeInfo("TAG_FILE_MISSING", _E, _I, "A file listed in a tag manifest is missing."),
        CodeInfo("TAG_FILE_UNLISTED", _E, _I, "A tag file (outside `data/` and `signatures/`) is not in the tag manifest."),
        CodeInfo("TAGMANIFEST_INCOMPLETE", _E, _I, "The tag manifest does not list a required tag file."),
        CodeInfo("BAG_INFO_MISSING", _E, _I, "`bag-info.txt` is missing."),
        CodeInfo("BAG_INFO_MALFORMED", _E, _I, "`bag-info.txt` has a line that is not `Label: value` or a continuation."),
        CodeInfo("BAG_INFO_FIELD_MISSING", _E, _I, "A field the profile requires is missing or empty in `bag-info.txt`."),
        CodeInfo("PROFILE_UNSUPPORTED", _E, _I, "`BagIt-Profile-Identifier` names no govarc profile version this verifier knows."),
        CodeInfo("OXUM_MISMATCH", _E, _I, "`Payload-Oxum` is malformed or does not match the payload's bytes and file count."),
        CodeInfo("ALGORITHM_UNAVAILABLE", _W, _I, "A manifest uses an algorithm this machine cannot compute (e.g. SM3); it was not checked."),
        CodeInfo("ALGORITHM_WEAK", _W, _I, "A manifest uses MD5 or SHA-1; it is checked but gives no assurance."),
        CodeInfo("NAME_NOT_NFC", _W, _I, "A payload file name is not in Unicode NFC form."),
        CodeInfo("LIMIT_EXCEEDED", _E, _I, "A tag file or the package exceeds a documented limit: declared size, compression ratio, line count, line length or entry count; it was not read further."),
        CodeInfo("METADATA_MISSING", _E, _I, "`metadata/record.xml` is missing."),
        CodeInfo("METADATA_NOT_WELLFORMED", _E, _I, "`metadata/record.xml` is not well-formed XML, or has a DOCTYPE."),
        CodeInfo("METADATA_INVALID", _E, _I, "`metadata/record.xml` is not valid against `record.xsd`, or contradicts itself (档号 string vs its parts, 保管期限 vs the 档号, not exactly one main file)."),
        CodeInfo("METADATA_MISMATCH", _E, _I, "`record.xml` disagrees with `bag-info.txt` or with the payload (names, sizes, digests)."),
        # Ingest: an error refuses the item (exit 3), a warning is recorded with the record.
        CodeInfo("INGEST_METADATA_MISSING", _E, _G, "A document has neither a sidecar nor a register row."),
        CodeInfo("INGEST_METADATA_UNREADABLE", _E, _G, "A sidecar or register cannot be parsed (bad JSON, XML, CSV or XLSX)."),
        CodeInfo("INGEST_FIELD_MISSING", _E, _G, "A required metadata element is missing or empty."),
        CodeInfo("INGEST_FIELD_INVALID", _E, _G, "A metadata value is out of range: 密级, 保管期限, a date that is not real, a negative count."),
        CodeInfo("INGEST_CLASSIFIED", _E, _G, "Classified material (秘密/机密) for an agency that does not allow it."),
        CodeInfo("INGEST_ENCRYPTED", _E, _G, "The document is encrypted or password-protected."),
        CodeInfo("INGEST_UNREADABLE", _E, _G, "The document is empty, truncated or cannot be parsed as its format."),
        CodeInfo("INGEST_ACTIVE_CONTENT", _E, _G, "A PDF carries JavaScript, a launch action or embedded files."),
        CodeInfo("INGEST_ATTACHMENT_MISSING", _E, _G, "An attachment (附件) named by the metadata is not in the drop folder."),
        CodeInfo("INGEST_EXTENSION_MISMATCH", _W, _G, "The file's extension does not match its real format."),
        CodeInfo("INGEST_FORMAT_NOT_ACCEPTED", _W, _G, "The format is not in the agency's accepted list."),
        CodeInfo("INGEST_TEXT_DISAGREES", _W, _G, "The document number or date printed in the document differs from the metadata."),
        CodeInfo("INGEST_NEW_VERSION", _W, _G, "A file already ingested has changed; it is registered as a new version."),
        CodeInfo("INGEST_UNSAFE_PATH", _E, _G, "A path named by a sidecar or register is absolute, contains `..`, or resolves outside the folder being ingested."),
        CodeInfo("INGEST_LINK", _E, _G, "A document, sidecar, register or attachment is a symbolic link; links are never followed."),
        CodeInfo("INGEST_NOT_REGULAR", _E, _G, "A document, sidecar, register or attachment is a FIFO, device, socket or other non-regular file."),
        CodeInfo("INGEST_TOO_LARGE", _E, _G, "An input exceeds a documented limit: file size, field length, list length, row count or nesting depth."),
        CodeInfo("PACKAGE_NO_KEY", _E, _S, "The agency has no signing key and the configuration does not allow unsigned packages; nothing was packaged."),
        CodeInfo("CATALOG_UNRECOVERED", _E, _C, "`govarc catalog rebuild` could not recover a package of the store into the catalog."),
        CodeInfo("AUDIT_EDITED", _E, _A, "An audit event's content does not match its hash: a field was changed."),
        CodeInfo("AUDIT_DELETED", _E, _A, "Audit events are missing: a gap in the sequence, or a checkpoint anchors an event the catalog no longer has."),
        CodeInfo("AUDIT_REORDERED", _E, _A, "An audit event is not at the sequence number it was written at: events were swapped or moved."),
        CodeInfo("AUDIT_INSERTED", _E, _A, "An audit event was inserted or replaced: the next event does not follow it."),
        CodeInfo("AUDIT_CHECKPOINT_MISMATCH", _E, _A, "A checkpoint's head hash differs from the catalog's event at that sequence number (the chain was rewritten)."),
        CodeInfo("AUDIT_CHECKPOINT_SIGNATURE", _E, _A, "A checkpoint's signature is missing, does not verify, or is not by a trusted key of the signer it names."),
        CodeInfo("AUDIT_CHECKPOINT_INVALID", _E, _A, "A file in `audit/checkpoints/` is not a checkpoint: not canonical JSON, over its size limit, not a regular file, or misnamed."),
        CodeInfo("AUDIT_CATALOG_REPLACED", _E, _A, "The catalog is not the one the checkpoints (or `catalog.id`) name: it was replaced."),
        CodeInfo("AUDIT_CHECKPOINT_UNSIGNED", _W, _A, "Checkpoints are unsigned (the workspace has no key, or it could not be loaded when they were made)."),
        CodeInfo("AUDIT_UNANCHORED", _W, _A, "Events after the last checkpoint are not anchored yet; deleting them could not be detected."),
        CodeInfo("AUDIT_CHAIN_RESTARTED", _W, _A, "The catalog was rebuilt without its events: a new chain began, naming the last checkpoint found then."),
        CodeInfo("EXCHANGE_UNKNOWN_RECIPIENT", _E, _X, "A recipient or group named for a send is not a configured agency or group; nothing was sent."),
        CodeInfo("EXCHANGE_ENVELOPE_INVALID", _E, _X, "An envelope or exchange receipt on the hub is unreadable, not valid against its schema, over a limit, or contradicts itself."),
        CodeInfo("EXCHANGE_NOT_ADDRESSED", _E, _X, "An envelope in an agency's inbox does not name that agency as a recipient."),
        CodeInfo("EXCHANGE_PACKAGE_MISMATCH", _E, _X, "The package on the hub is missing or its digest or size differs from the envelope's."),
        CodeInfo("EXCHANGE_REPLAY", _E, _X, "An envelope older than the duplicate window, or re-sent under a message id already answered, was refused as a replay."),
        CodeInfo("EXCHANGE_DUPLICATE", _W, _X, "A message already received arrived again; it was treated as a duplicate and not handed over twice."),
        CodeInfo("EXCHANGE_RECEIPT_MISMATCH", _E, _X, "An exchange receipt does not answer a message this agency sent to that recipient (message id, recipient, package digest)."),
        CodeInfo("EXCHANGE_OA_FAILED", _E, _X, "Handing a received message to the agency's OA (command or drop folder) failed or timed out; it is retried next run."),
        # Signatures: an error makes `govarc verify` exit 4 when no integrity error is present.
        CodeInfo("SIGNATURE_MISSING", _E, _S, "The package has no signature in `signatures/` (allowed only with `--allow-unsigned`)."),
        CodeInfo("SIGNATURE_MALFORMED", _E, _S, "A `.p7s` is empty, truncated or garbage, not a detached DER CMS SignedData with one SignerInfo, or lacks the signer certificate."),
        CodeInfo("SIGNATURE_INVALID", _E, _S, "A signature does not verify over `tagmanifest-sha256.txt`: the signed digest or the signature value is wrong, or the signing time is in the future."),
        CodeInfo("SIGNATURE_ALGORITHM_WEAK", _E, _S, "A signature uses an algorithm the policy refuses: MD5 or SHA-1, RSA below 2048 bits, a curve below P-256."),
        CodeInfo("SIGNATURE_UNEXPECTED_FILE", _E, _S, "`signatures/` holds something other than `<CODE>.p7s` files."),
        CodeInfo("SIGNER_NO_TRUST_ANCHORS", _E, _S, "No trust anchors are configured, so the signer cannot be judged."),
        CodeInfo("SIGNER_UNTRUSTED", _E, _S, "The signer's certificate has no valid path to a trust anchor."),
        CodeInfo("SIGNER_EXPIRED", _E, _S, "The signer's certificate was not valid at signing time (or at the `--at` time)."),
        CodeInfo("SIGNER_REVOKED", _E, _S, "The signer's certificate, or a CA certificate on its path, is on a CRL."),
        CodeInfo("SIGNER_KEY_USAGE", _E, _S, "The signer's certificate does not allow digitalSignature or nonRepudiation."),
        CodeInfo("SIGNER_WRONG_AGENCY", _E, _S, "No signature names the agency the package is from (organizationIdentifier = agency code)."),
        CodeInfo("CRL_INVALID", _W, _S, "A CRL given for revocation checking is not signed by its issuer; it was ignored."),
    ]
}


@dataclass(frozen=True)
class Finding:
    """One thing a check found: its stable code, the file it concerns and a message."""

    code: str
    path: str
    message: str

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown finding code {self.code}")

    @property
    def level(self) -> Level:
        return CODES[self.code].level

    @property
    def kind(self) -> Kind:
        return CODES[self.code].kind

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "level": self.level.value, "path": self.path, "message": self.message}



def exit_code(findings: Iterable[Finding]) -> int:
    """The exit code findings call for: 0 without errors, 4 when every error is about a signature
    (Kind.SIGNATURE), else 3 (the package or input is invalid)."""
    kinds = {f.kind for f in findings if f.level is Level.ERROR}
    if not kinds:
        return EXIT_OK
    return EXIT_SIGNATURE if kinds == {Kind.SIGNATURE} else EXIT_INVALID
