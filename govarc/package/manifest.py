"""Pure functions for BagIt tag files: manifests, bag-info, bagit.txt, Payload-Oxum, path safety."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from govarc import limits
from govarc.package.hashing import Algorithm

BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_DRIVE = re.compile(r"^[A-Za-z]:")
_EOL = re.compile(r"\r\n|\r|\n")


class TagLimitError(ValueError):
    """A tag file has more lines, or a longer line, than the limits allow; ``lineno`` names where."""

    def __init__(self, lineno: int, reason: str) -> None:
        super().__init__(f"line {lineno}: {reason}")
        self.lineno = lineno
        self.reason = reason


def iter_lines(
    text: str, max_lines: int = limits.MAX_PACKAGE_FILES, max_line_bytes: int = limits.MAX_LINE_BYTES,
) -> Iterator[tuple[int, str]]:
    """The lines of a tag file as ``(line number, line)``, one at a time, without their line ends.

    Lines end with LF, CR or CRLF (RFC 8493 §2.1). Every line counts, blank ones too; a line
    over ``max_lines`` or longer than ``max_line_bytes`` (in UTF-8) raises :class:`TagLimitError`
    before anything more is read, so a hostile file costs no more than its text.
    """
    pos, end, lineno = 0, len(text), 0
    while pos < end:
        m = _EOL.search(text, pos)
        stop = m.start() if m else end
        lineno += 1
        if lineno > max_lines:
            raise TagLimitError(lineno, f"more than {max_lines} lines (MAX_PACKAGE_FILES)")
        # A character is 1 to 4 bytes: only a line that might be too long is encoded to tell.
        if stop - pos > max_line_bytes // 4 and len(text[pos:stop].encode("utf-8", "surrogatepass")) > max_line_bytes:
            raise TagLimitError(lineno, f"longer than {max_line_bytes} bytes (MAX_LINE_BYTES)")
        yield lineno, text[pos:stop]
        pos = m.end() if m else end


def encode_path(path: str) -> str:
    """Encode a relative path for a manifest line (RFC 8493 §2.1.3: %, CR and LF)."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def decode_path(path: str) -> str:
    """Undo :func:`encode_path` (case-insensitive hex, as bagit-python does)."""
    return re.sub(r"%(0[dDaA]|25)", lambda m: {"0d": "\r", "0a": "\n", "25": "%"}[m.group(1).lower()], path)


def nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def unsafe_reason(path: str) -> str | None:
    """Why a relative package path is unsafe, or None when it is safe.

    Unsafe: empty, absolute, a drive letter, a backslash, a NUL, an empty, ``.`` or ``..`` part.
    """
    if not path:
        return "empty path"
    if path.startswith("/"):
        return "absolute path"
    if _DRIVE.match(path):
        return "drive letter"
    if "\\" in path:
        return "backslash in path"
    if "\x00" in path:
        return "NUL in path"
    for part in path.split("/"):
        if part == "..":
            return "`..` in path"
        if part in ("", "."):
            return "empty or `.` path component"
    return None


@dataclass(frozen=True)
class ManifestLine:
    lineno: int
    digest: str
    path: str


@dataclass(frozen=True)
class ManifestProblem:
    lineno: int
    text: str
    reason: str


def format_manifest(entries: Mapping[str, str]) -> str:
    """Manifest text for ``{path: hexdigest}``, sorted by path, LF line ends."""
    return "".join(f"{entries[p]}  {encode_path(p)}\n" for p in sorted(entries))


def parse_manifest(text: str, algorithm: Algorithm) -> tuple[list[ManifestLine], list[ManifestProblem]]:
    """Parse manifest text into lines and problems (bad line shape or digest length).

    Raises :class:`TagLimitError` past MAX_PACKAGE_FILES lines or on a line over MAX_LINE_BYTES.
    """
    lines: list[ManifestLine] = []
    problems: list[ManifestProblem] = []
    for lineno, raw in iter_lines(text):
        if not raw.strip():
            continue
        parts = raw.split(None, 1)
        if len(parts) != 2 or not _HEX.match(parts[0]):
            problems.append(ManifestProblem(lineno, raw, "not `<hex digest> <path>`"))
            continue
        digest, path = parts[0].lower(), parts[1].strip()
        if len(digest) != algorithm.hex_length:
            problems.append(ManifestProblem(lineno, raw, f"digest is not {algorithm.hex_length} hex digits"))
            continue
        if path.startswith("*"):  # sha256sum's binary-mode marker, accepted as bagit-python does
            path = path[1:]
        lines.append(ManifestLine(lineno, digest, decode_path(path)))
    return lines, problems


def manifest_algorithm(name: str, prefix: str) -> Algorithm | str:
    """The algorithm of ``manifest-<alg>.txt`` / ``tagmanifest-<alg>.txt``, or the raw name if unknown."""
    alg = name[len(prefix) : -len(".txt")]
    try:
        return Algorithm(alg)
    except ValueError:
        return alg


@dataclass(frozen=True)
class BagInfoProblem:
    lineno: int
    text: str


def format_bag_info(fields: Iterable[tuple[str, str]]) -> str:
    """bag-info.txt text from ``(label, value)`` pairs, in the given order (labels may repeat)."""
    out = []
    for label, value in fields:
        value = " ".join(str(value).split())  # no line breaks inside a value
        out.append(f"{label}: {value}\n")
    return "".join(out)


def parse_bag_info(text: str) -> tuple[list[tuple[str, str]], list[BagInfoProblem]]:
    """Parse bag-info.txt into ``(label, value)`` pairs; continuation lines start with whitespace.

    Raises :class:`TagLimitError` past MAX_PACKAGE_FILES lines or on a line over MAX_LINE_BYTES;
    a value joined from continuation lines is bounded by the file's size.
    """
    # Each value as a list of its parts, joined once at the end: appending to a string per
    # continuation line would copy the value each time (quadratic in a hostile file).
    parts: list[tuple[str, list[str]]] = []
    problems: list[BagInfoProblem] = []
    for lineno, raw in iter_lines(text):
        if not raw.strip():
            continue
        if raw[0] in " \t":
            if parts:
                parts[-1][1].append(raw.strip())
            else:
                problems.append(BagInfoProblem(lineno, raw))
            continue
        label, sep, value = raw.partition(":")
        if not sep or not label.strip() or label != label.strip():
            problems.append(BagInfoProblem(lineno, raw))
            continue
        parts.append((label, [value.strip()]))
    return [(label, " ".join(values)) for label, values in parts], problems


def bag_info_get(fields: list[tuple[str, str]], label: str) -> str | None:
    """First value of ``label`` (labels compare case-insensitively, as RFC 8493 says)."""
    for k, v in fields:
        if k.lower() == label.lower():
            return v
    return None


def payload_oxum(total_bytes: int, file_count: int) -> str:
    return f"{total_bytes}.{file_count}"


def parse_oxum(value: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"(\d+)\.(\d+)", value.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None
