"""Resource limits that ingest, the builder and verify agree on (documented in specs/limits.md).

Every input from outside is bounded: a value over a limit is refused with a coded finding
(``INGEST_TOO_LARGE`` at ingest, ``LIMIT_EXCEEDED`` in verify), never read on into memory. The
metadata limits are chosen so that any record ingest accepts yields a ``record.xml`` well under
the size verify accepts: what govarc signs, govarc verifies.
"""

from __future__ import annotations

KIB = 1024
MIB = 1024 * KIB

# --- metadata (sidecars, registers, record.json / record.xml content) -------------------------
MAX_FIELD_CHARS = 2_000
"""Characters in one metadata value (题名, 文件编号, a 责任者, a 关键词, 附注, a file name, …)."""

MAX_LIST_ITEMS = 200
"""Items in one list-valued field: 责任者, 关键词, 附件."""

MAX_JSON_DEPTH = 16
"""Nesting depth of a JSON sidecar or metadata file (objects and arrays); real ones need 3."""

MAX_XML_DEPTH = 32
"""Nesting depth of an XML sidecar, metadata file or record.xml; the record schema needs 4."""

MAX_SIDECAR_BYTES = 1 * MIB
"""Size of one sidecar (.json/.xml) or metadata file."""

MAX_REGISTER_BYTES = 64 * MIB
"""Size of one register (CSV or XLSX)."""

MAX_REGISTER_ROWS = 100_000
"""Data rows in one register."""

# --- packages (tag files read by verify, folder or zip) ---------------------------------------
MAX_TAG_FILE_BYTES = 8 * MIB
"""Size of one tag file (bagit.txt, bag-info.txt, metadata/record.xml, a manifest, a .p7s)."""

MAX_PACKAGE_FILES = 10_000
"""Payload files in one package, so lines in one manifest."""

MAX_LINE_BYTES = 8 * KIB
"""Bytes in one line of a manifest or of bag-info.txt."""

MAX_ZIP_ENTRIES = MAX_PACKAGE_FILES + 64
"""Entries in one packaged .zip (payload files plus tag files and folders)."""

MAX_COMPRESSION_RATIO = 200
"""Uncompressed size over compressed size of a zip entry read into memory (a tag file)."""

# --- transfer (lists and receipts exchanged with the archives) ---------------------------------
MAX_BATCH_PACKAGES = 5_000
"""Packages in one transfer batch, so rows in one transfer list and verdicts in one receipt."""

MAX_CHECKS_PER_PACKAGE = 64
"""Acceptance checks reported for one package in a receipt."""

MAX_TRANSFER_DOC_BYTES = 32 * MIB
"""Size of one transfer list or receipt (XML); their .p7s stay within MAX_TAG_FILE_BYTES."""

# --- exchange (envelopes and receipts on the hub) ------------------------------------------------
MAX_EXCHANGE_DOC_BYTES = 1 * MIB
"""Size of one exchange envelope or exchange receipt (XML); their .p7s stay within MAX_TAG_FILE_BYTES."""

MAX_RECIPIENTS = 1_000
"""Addressees of one message (主送 and 抄送 together, groups resolved), so codes listed in one envelope."""
