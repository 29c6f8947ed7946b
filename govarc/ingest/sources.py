"""Find the records in a drop folder: documents, their sidecars, registers and attachments.

Follows specs/ingest.md. The metadata come from sidecars (:mod:`govarc.ingest.sidecars`) and
registers (:mod:`govarc.ingest.registers`); this module pairs them with the documents they
describe. Discovery only reads; a problem with an item's metadata becomes a finding
on that item, so one bad sidecar never stops the batch.

Everything comes from inside the folder being ingested, following nothing: a path a sidecar or a
register names is relative, has no ``..``, and reaches a regular file through no link; a link, a
FIFO, a socket or a device in the drop folder is refused as such, never opened (a FIFO would
block the run). Every input is bounded by :mod:`govarc.limits` before it is read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from govarc.domain import NAME_SEPARATORS, split_list
from govarc.findings import Finding, Level
from govarc.fsutil import InputKind, UnsafeInputError, check_beneath, mode_name, printable, relative_parts
from govarc.ingest.registers import REGISTER_NAMES, iter_register
from govarc.ingest.sidecars import SIDECAR_SUFFIXES, read_sidecar
from govarc.limits import MAX_LIST_ITEMS
from govarc.package.metadata import LimitExceededError, check_limits
from govarc.xmlsafe import XMLTooDeepError

_IGNORED_SUFFIXES = ("~", ".tmp", ".part")

REFUSAL_CODES = {
    InputKind.UNSAFE_PATH: "INGEST_UNSAFE_PATH", InputKind.LINK: "INGEST_LINK",
    InputKind.NOT_REGULAR: "INGEST_NOT_REGULAR", InputKind.TOO_LARGE: "INGEST_TOO_LARGE",
}
"""The finding code of each reason an input file is refused."""


@dataclass(frozen=True)
class Item:
    """One record to ingest: a main document, its attachments and its metadata fields.

    An item refused at discovery may stand for a register (``document`` False) or name a
    main document that is a link or a special file; its files are then never opened.
    ``root`` is the folder being ingested: every file of the item lies below it and is opened
    from it following no link (see :func:`govarc.fsutil.open_input`).
    """

    main: Path
    attachments: tuple[Path, ...] = ()
    fields: dict[str, Any] = field(default_factory=dict, hash=False)
    origin: str = ""  # where the metadata came from, for messages
    findings: tuple[Finding, ...] = ()
    root: Path | None = None
    document: bool = True  # False when ``main`` is a register that stands for its refused rows

    @property
    def refused(self) -> bool:
        """Whether discovery already refused the item (its files are then never opened)."""
        return any(f.level is Level.ERROR for f in self.findings)


INPUT_REFUSALS = frozenset(REFUSAL_CODES.values())
"""Codes of inputs refused as hostile: the item's files are not opened, inspected or stored."""


def refusal(e: UnsafeInputError, what: str = "") -> Finding:
    """The finding for an input refused by :mod:`govarc.fsutil`; ``what`` says who named it."""
    return Finding(REFUSAL_CODES[e.kind], e.path, f"{what} {e.message}".strip())


def _metadata_problem(path: Path, e: Exception, what: str = "") -> Finding:
    """The finding for a sidecar or register that could not be read, by the reason it could not."""
    if isinstance(e, UnsafeInputError):
        return refusal(e, what)
    if isinstance(e, (LimitExceededError, XMLTooDeepError)):
        return Finding("INGEST_TOO_LARGE", str(path), str(e))
    if isinstance(e, OSError):
        return Finding("INGEST_METADATA_UNREADABLE", str(path), f"cannot read: {e.strerror or e}")
    return Finding("INGEST_METADATA_UNREADABLE", str(path), str(e))


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.endswith(_IGNORED_SUFFIXES)


@dataclass(frozen=True)
class _Entry:
    path: Path
    mode: int  # from lstat: a link is a link, not what it points to


def _not_regular(path: Path, mode: int, what: str = "") -> Finding | None:
    """The finding for a drop-folder entry that is a link or a special file; None for a regular file."""
    return None if stat.S_ISREG(mode) else _mode_refusal(path, mode, what)


def _mode_refusal(path: Path, mode: int, what: str = "") -> Finding:
    if stat.S_ISLNK(mode):
        return Finding("INGEST_LINK", str(path), f"{what} is a symbolic link; links are never followed".strip())
    return Finding("INGEST_NOT_REGULAR", str(path), f"{what} is {mode_name(mode)}, not a regular file".strip())


def _listing(folder: Path) -> list[tuple[str, int]]:
    """The names in ``folder`` but hidden and temporary ones, with their lstat modes, unsorted.

    Raises :class:`OSError` when the folder, or any entry of it, cannot be read.
    """
    with os.scandir(folder) as it:
        found = [(e.name, e.stat(follow_symlinks=False).st_mode) for e in it]
    return [(name, mode) for name, mode in found if not _ignored(name)]


def _unreadable(folder: Path, e: OSError, root: Path) -> Item:
    return Item(folder, findings=(Finding("INGEST_UNREADABLE", str(folder), f"cannot read the folder: {e.strerror}"),),
                root=root)


def _walk(folder: Path) -> tuple[list[_Entry], list[Item]]:
    """Every entry below ``folder`` but folders, sorted, with its lstat mode; and unreadable folders.

    Links to folders are entries (never descended into); hidden and temporary names are skipped.
    """
    entries: list[_Entry] = []
    problems: list[Item] = []
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            found = sorted(_listing(current), reverse=True)
        except OSError as e:
            problems.append(_unreadable(current, e, folder))
            continue
        for name, mode in found:
            if stat.S_ISDIR(mode):
                stack.append(current / name)
            else:
                entries.append(_Entry(current / name, mode))
    entries.sort(key=lambda e: str(e.path))
    return entries, problems


_T = TypeVar("_T")


def _named(base: Path, name: str, what: str) -> Path:
    """The regular file that metadata in ``base`` names as ``name``, reached following no link.

    Raises :class:`UnsafeInputError` (its path the offending one, its message saying ``what``
    named it) or :class:`FileNotFoundError`.
    """
    try:
        parts = relative_parts(name)
    except UnsafeInputError as e:
        shown = printable(name)
        where = shown if shown.startswith(("/", "\\")) else str(base / shown)
        raise UnsafeInputError(e.kind, where, f"{what} {e.message}; only a path inside {base} is allowed") from None
    try:
        return check_beneath(base, parts)
    except UnsafeInputError as e:
        raise UnsafeInputError(e.kind, e.path, f"{what} {e.message}") from None
    except NotADirectoryError as e:
        raise FileNotFoundError(str(e)) from None


def _item(main: Path, fields: dict[str, Any], root: Path, base: Path, origin: str, where: str) -> tuple[Item, list[Path]]:
    """The item of ``main`` and its attachments; also the paths it names that are refused (to claim them).

    ``origin`` names the metadata in messages (``a.json``, ``register.csv row 3``), ``where`` in paths.
    """
    findings: list[Finding] = []
    attachments: list[Path] = []
    refused: list[Path] = []
    names = split_list(fields.pop("attachments", []), NAME_SEPARATORS)
    if len(names) > MAX_LIST_ITEMS:
        findings.append(Finding("INGEST_TOO_LARGE", where,
                                f"附件 (attachments) has {len(names):,} items, over the limit of {MAX_LIST_ITEMS:,}"))
        names = []
    for rel in names:
        try:
            attachments.append(_named(base, rel, f"附件 named by {origin}"))
        except UnsafeInputError as e:
            findings.append(refusal(e))
            refused.append(Path(e.path))
        except OSError:
            findings.append(Finding("INGEST_ATTACHMENT_MISSING", printable(str(base / rel)),
                                    f"附件 named by {origin} is not there"))
    return Item(main, tuple(attachments), fields, origin, tuple(findings), root), refused


class RealPaths:
    """``path.resolve()`` for many files of few folders: each folder is resolved once."""

    def __init__(self) -> None:
        self._folders: dict[Path, Path] = {}

    def __call__(self, path: Path) -> Path:
        folder = self._folders.get(path.parent)
        if folder is None:
            folder = self._folders[path.parent] = path.parent.resolve()
        return folder / path.name


def _path_named(path: Path, folder: Callable[[Path], Iterable[_T]]) -> list[Item | _T]:
    """What a path named to discovery holds: ``folder(path)`` for a folder (a link to one is the
    user's choice), the record of a regular file, else one refusal naming the path."""
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode) and stat.S_ISDIR(os.stat(path).st_mode):
            st = os.stat(path)
    except (OSError, ValueError):
        return [Item(path, findings=(Finding("INGEST_UNREADABLE", str(path), "no such file or folder"),))]
    if stat.S_ISDIR(st.st_mode):
        return list(folder(path))
    if stat.S_ISREG(st.st_mode):
        return list(_discover_file(path))
    return [Item(path, findings=(_mode_refusal(path, st.st_mode),))]


def discover(paths: Sequence[Path]) -> list[Item]:
    """Every record in ``paths`` (files or folders), in a stable order, each main document once.

    A folder named here may be a link (it is the user's or the configuration's choice); below
    it, and for a file named here, no link is followed.
    """
    items: list[Item] = []
    for path in paths:
        items.extend(_path_named(Path(path), _discover_folder))
    seen: set[Any] = set()
    unique = []
    real = RealPaths()
    for it in items:
        # A refusal is kept as found; a good item once, however many times its file was named.
        key = _key(it, real)
        if key not in seen:
            seen.add(key)
            unique.append(it)
    return unique


def _register_items(register: Path, root: Path, claimed: set[Path]) -> list[Item]:
    """The items of a register's rows, or the register's refusal; claims what the rows name.

    Rows are turned into items as they are read, so a refused row keeps none of its fields. A
    file named by several rows is the record of the first.
    """
    items: list[Item] = []
    mine: set[Path] = set()
    try:
        for n, row in iter_register(register, root):
            item, named = _row_item(register, root, n, row, mine)
            mine.update(named)
            if item is not None:
                items.append(item)
    except (ValueError, OSError) as e:
        return [Item(register, findings=(_metadata_problem(register, e),), root=root, document=False)]
    claimed.update(mine)
    return items


def _row_item(register: Path, root: Path, n: int, row: dict[str, Any], mine: set[Path]) -> tuple[Item | None, list[Path]]:
    """The item of register row ``n`` (None for a file an earlier row named), and the paths it claims."""
    base = register.parent
    origin = f"{register.name} row {n}"
    where = f"{register}:{n}"
    name = row.pop("file", None)
    if not name:
        return Item(register, findings=(Finding("INGEST_FIELD_MISSING", where, "row names no file (文件名)"),),
                    root=root, document=False), []
    name = str(name).strip()
    try:
        check_limits({"file": name})
        main = _named(base, name, f"the file named by {origin}")
    except LimitExceededError as e:
        return Item(register, findings=(Finding("INGEST_TOO_LARGE", where, str(e)),), root=root, document=False), []
    except UnsafeInputError as e:
        return Item(Path(e.path), findings=(refusal(e),), root=root), [Path(e.path)]
    except OSError:
        shown = base / printable(name)
        return Item(shown, findings=(
            Finding("INGEST_UNREADABLE", str(shown), f"{origin} names a file that is not there"),), root=root), []
    if main in mine:
        return None, []
    try:
        check_limits(row)
    except LimitExceededError as e:
        return Item(main, findings=(Finding("INGEST_TOO_LARGE", where, str(e)),), root=root), [main]
    item, refused = _item(main, row, root, base, origin, where)
    return item, [main, *item.attachments, *refused]


def _sidecar_item(doc: _Entry, sidecar: _Entry, root: Path) -> tuple[Item, list[Path]]:
    """The item of a document described by a sidecar (both found beside each other)."""
    problem = _not_regular(doc.path, doc.mode) or _not_regular(sidecar.path, sidecar.mode, "the sidecar")
    if problem:
        return Item(doc.path, findings=(problem,), root=root), []
    try:
        fields = read_sidecar(sidecar.path, root)
    except (ValueError, OSError) as e:
        return Item(doc.path, findings=(_metadata_problem(sidecar.path, e, "the sidecar"),), root=root), []
    return _item(doc.path, fields, root, sidecar.path.parent, sidecar.path.name, str(sidecar.path))


def _pair(entries: Iterable[_Entry], claimed: set[Path]) -> list[tuple[_Entry, list[_Entry]]]:
    """Each sidecar not claimed yet with the documents of its folder that share its stem."""
    entries = list(entries)
    by_stem: dict[tuple[Path, str], list[_Entry]] = {}
    for e in entries:
        if e.path.suffix.lower() not in SIDECAR_SUFFIXES and e.path not in claimed:
            by_stem.setdefault((e.path.parent, e.path.stem), []).append(e)
    pairs = []
    for e in entries:
        if e.path in claimed or e.path.suffix.lower() not in SIDECAR_SUFFIXES:
            continue
        docs = by_stem.get((e.path.parent, e.path.stem), [])
        if docs:
            pairs.append((e, docs))
    return pairs


def _described(pairs: list[tuple[_Entry, list[_Entry]]], root: Path, claimed: set[Path]) -> list[Item]:
    items: list[Item] = []
    for sidecar, docs in pairs:
        claimed.add(sidecar.path)
        claimed.update(d.path for d in docs)
    for sidecar, docs in pairs:
        if len(docs) > 1:
            names = ", ".join(x.path.name for x in docs)
            items.extend(
                Item(d.path, findings=(Finding("INGEST_METADATA_UNREADABLE", str(sidecar.path),
                                               f"sidecar matches several documents: {names}"),), root=root)
                for d in docs
            )
            continue
        item, refused = _sidecar_item(docs[0], sidecar, root)
        claimed.update(item.attachments, refused)
        items.append(item)
    return items


def _discover_folder(folder: Path) -> list[Item]:
    entries, items = _walk(folder)
    claimed: set[Path] = set()
    pairs = _claim_registers(entries, folder, claimed, items)
    return _finish_folder(entries, pairs, folder, claimed, items)


def _claim_registers(entries: list[_Entry], folder: Path, claimed: set[Path], items: list[Item]) -> list[tuple[_Entry, list[_Entry]]]:
    """Read the folder's registers into ``items``, claiming what they name; the sidecars' pairs then."""
    for register in (e for e in entries if e.path.name in REGISTER_NAMES):
        claimed.add(register.path)
        problem = _not_regular(register.path, register.mode, "the register")
        if problem:
            items.append(Item(register.path, findings=(problem,), root=folder, document=False))
        else:
            items.extend(_register_items(register.path, folder, claimed))
    return _pair(entries, claimed)


def _finish_folder(entries: list[_Entry], pairs: list[tuple[_Entry, list[_Entry]]], folder: Path,
                   claimed: set[Path], items: list[Item]) -> list[Item]:
    items.extend(_described(pairs, folder, claimed))
    for e in entries:  # an attachment claimed by a record is not a document of its own
        if e.path not in claimed:
            problem = _not_regular(e.path, e.mode)
            items.append(Item(e.path, findings=(problem or Finding(
                "INGEST_METADATA_MISSING", str(e.path), "no sidecar (.json/.xml) and no register row"),), root=folder))
    items.sort(key=lambda it: str(it.main))
    return items


@dataclass(frozen=True, slots=True)
class _Deferred:
    """A document and its sidecar, whose item is made (the sidecar read) only when its turn comes."""

    main: str
    mode: int
    suffix: str  # the sidecar's: it is the document's stem with this suffix, beside it
    sidecar_mode: int
    root: Path

    def item(self) -> Item:
        doc = Path(self.main)
        sidecar = doc.parent / (doc.stem + self.suffix)
        return _sidecar_item(_Entry(doc, self.mode), _Entry(sidecar, self.sidecar_mode), self.root)[0]


def _plan_folder(folder: Path) -> list[Item | _Deferred]:
    """:func:`_discover_folder`, each document described by its own sidecar deferred, in the same order.

    Deferring is exact only when no file of the folder could be left over (claimed by no register,
    in no pair): only then is what a sidecar names (its attachments) not needed to tell which files
    are records of their own. Otherwise the folder is discovered whole, as :func:`_discover_folder` does.
    """
    entries, items = _walk(folder)
    claimed: set[Path] = set()
    pairs = _claim_registers(entries, folder, claimed, items)
    paired = set(claimed)
    for sidecar, docs in pairs:
        paired.add(sidecar.path)
        paired.update(d.path for d in docs)
    if any(e.path not in paired for e in entries):
        return list(_finish_folder(entries, pairs, folder, claimed, items))
    del entries, paired, claimed
    planned: list[Item | _Deferred] = list(items)
    shared: dict[Any, Any] = {}  # one object for each mode and suffix, not one per file
    for sidecar, docs in pairs:
        if len(docs) > 1:
            planned.extend(_described([(sidecar, docs)], folder, set()))
        else:
            doc, suffix = docs[0], sidecar.path.suffix
            planned.append(_Deferred(str(doc.path), shared.setdefault(doc.mode, doc.mode), shared.setdefault(suffix, suffix),
                                     shared.setdefault(sidecar.mode, sidecar.mode), folder))
    planned.sort(key=lambda x: x.main if isinstance(x, _Deferred) else str(x.main))
    return planned


def _files_of(folder: Path, found: Iterable[tuple[str, int]]) -> list[_Entry]:
    """The entries of one folder's listing that are not folders, sorted as :func:`_walk` sorts them."""
    return sorted((_Entry(folder / name, mode) for name, mode in found if not stat.S_ISDIR(mode)), key=lambda e: e.path.name)


def _simple(files: list[_Entry]) -> tuple[list[tuple[_Entry, list[_Entry]]], bool]:
    """One folder's pairs, and whether every file of it is in exactly one of them and none is a register.

    Then the folder's items are its pairs' alone, whatever any sidecar names (see :func:`_plan_folder`).
    """
    pairs = _pair(files, set())
    times: dict[Path, int] = {}
    for sidecar, docs in pairs:
        for e in (sidecar, *docs):
            times[e.path] = times.get(e.path, 0) + 1
    simple = all(times.get(e.path) == 1 and e.path.name not in REGISTER_NAMES for e in files)
    return pairs, simple


class _Tree:
    """A folder named to discovery, read one sub-folder at a time in the order of :func:`discover`.

    The global order, every path as a string sorted, is a walk in which, within a folder, a file
    sorts under its name and a sub-folder's contents under its name and ``/`` (no name holds a
    ``/``, and every path below a folder starts with the folder's). A sub-folder that cannot be
    read is an item under its own name, so it is tried there, and its listing kept until its
    contents' turn. What is held is the listing of the current folder and what is left of each
    folder above it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def survey(self) -> int | None:
        """How many items :func:`discover` finds here, if each is a document and its own sidecar; else None.

        Holds nothing but counts (and one folder's listing at a time). None when some folder holds a
        register, a file no sidecar describes (it might be a sidecar's attachment) or a document
        two sidecars describe: that folder is then discovered whole, as before.
        """
        count = 0
        stack = [self.path]
        while stack:
            folder = stack.pop()
            try:
                found = _listing(folder)
            except OSError:
                count += 1
                continue
            stack.extend(folder / name for name, mode in found if stat.S_ISDIR(mode))
            pairs, simple = _simple(_files_of(folder, found))
            if not simple:
                return None
            count += sum(len(docs) for _, docs in pairs)
        return count

    def __iter__(self) -> Iterator[Item]:
        frames = [self._frame(self.path, None)]
        while frames:
            event = next(frames[-1], None)
            if event is None:
                frames.pop()
            elif isinstance(event, Item):
                yield event
            else:
                folder, found = event
                frames.append(self._frame(folder, found))

    def _frame(self, folder: Path, found: list[tuple[str, int]] | None) -> Iterator[Item | tuple[Path, list[tuple[str, int]]]]:
        """The items of ``folder``'s files, and its readable sub-folders (with their listings), in turn."""
        root = self.path
        if found is None:
            try:
                found = _listing(folder)
            except OSError as e:
                yield _unreadable(folder, e, root)
                return
        files = _files_of(folder, found)
        pairs, simple = _simple(files)
        items: dict[str, list[Item]] = {}
        if simple:
            turns: list[tuple[str, int, Any]] = []
            for sidecar, docs in pairs:
                if len(docs) == 1:
                    turns.append((docs[0].path.name, 0, (docs[0], sidecar)))
                else:
                    for it in _described([(sidecar, docs)], root, set()):
                        items.setdefault(it.main.name, []).append(it)
        else:
            # The folder changed since it was surveyed: its files are discovered as a folder of their
            # own (a register is left for the next run), each main document once.
            claimed: set[Path] = set()
            files = [e for e in files if e.path.name not in REGISTER_NAMES]
            found_items = _finish_folder(files, _pair(files, claimed), root, claimed, [])
            real, seen = RealPaths(), set()
            for it in found_items:
                key = _key(it, real)
                if key not in seen:
                    seen.add(key)
                    items.setdefault(it.main.name, []).append(it)
            turns = []
        turns.extend((name, 0, None) for name in items)
        for name, mode in found:
            if stat.S_ISDIR(mode):
                turns += [(name, 1, None), (name + "/", 2, None)]
        del files, pairs, found
        turns.sort(key=lambda t: t[0])
        held: dict[str, list[tuple[str, int]]] = {}
        for key, kind, what in turns:
            if kind == 0:
                if what is not None:
                    doc, sidecar = what
                    yield _sidecar_item(doc, sidecar, root)[0]  # the sidecar read now
                else:
                    yield from items.pop(key)
            elif kind == 1:
                try:
                    held[key] = _listing(folder / key)
                except OSError as e:
                    yield _unreadable(folder / key, e, root)
            elif key[:-1] in held:
                yield folder / key[:-1], held.pop(key[:-1])


def _key(item: Item, real: RealPaths) -> Any:
    """What :func:`discover` tells items apart by: a refusal by its path and codes, a good item by its real path."""
    return (str(item.main), tuple(f.code for f in item.findings)) if item.refused else real(item.main)


def _streamed(paths: Sequence[Path]) -> tuple[list[Item | _Tree], int] | None:
    """What ``paths`` hold, each folder to be read as it is reached, and how many items; None if not exact.

    Exact when no file can be found twice: no folder named is, or is inside, another (after
    resolving links), no item of a file named is inside a folder named, and no two items of the
    files named are the same; and when every folder's files are documents with their own sidecars
    (:meth:`_Tree.survey`). Otherwise :func:`discover`'s choice of which one to keep depends on
    what is read, and the caller discovers as before.
    """
    sources: list[Item | _Tree] = []
    for path in paths:
        sources.extend(_path_named(Path(path), lambda p: [_Tree(p)]))
    trees = [s for s in sources if isinstance(s, _Tree)]
    items = [s for s in sources if isinstance(s, Item)]
    real = RealPaths()
    try:
        roots = [t.path.resolve() for t in trees]
        keys = {_key(it, real) for it in items}
        reals = [real(it.main) for it in items]
    except (OSError, RuntimeError, ValueError):
        return None
    if len(keys) < len(items):
        return None
    for i, (tree, root) in enumerate(zip(trees, roots)):
        if any(root.is_relative_to(other) for j, other in enumerate(roots) if j != i):
            return None
        if any(r.is_relative_to(root) for r in reals) or any(it.main.is_relative_to(tree.path) for it in items):
            return None
    count = len(items)
    for tree in trees:
        n = tree.survey()
        if n is None:
            return None
        count += n
    return sources, count


class Discovery:
    """:func:`discover` as a stream: counted up front, each sidecar read only as its item is reached.

    Yields the items :func:`discover` returns, in the same order, with the same findings. A folder
    whose files are all documents with their own sidecars (no register, no file of its own) is read
    one sub-folder at a time as the items are taken (:class:`_Tree`): nothing is held per document,
    and a sub-folder that changed since it was counted is read as it is then. Any other folder is
    listed whole first, each document then holding its path, its sidecar's name and their modes
    until its turn. When the same file could be found twice (so that :func:`discover` would keep one
    of them by what its sidecar says), the items are discovered whole, as :func:`discover` does.
    """

    def __init__(self, paths: Sequence[Path]) -> None:
        streamed = _streamed(paths)
        self._sources: list[Item | _Tree] = []
        self._planned: list[Item | _Deferred] = []
        if streamed is not None:
            self._sources, self._count = streamed
            return
        planned: list[Item | _Deferred] = []
        for path in paths:
            planned.extend(_path_named(Path(path), _plan_folder))
        real = RealPaths()
        seen: set[str] = set()
        for x in planned:
            key = str(real(Path(x.main)))
            if key in seen:  # discover() keeps one of them, and which depends on what is read
                planned = list(discover(paths))
                break
            seen.add(key)
        self._planned = planned
        self._count = len(planned)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Item]:
        """Each item once, its sidecar read now; what was yielded is not kept."""
        sources, self._sources = self._sources, []
        sources.reverse()
        while sources:
            source = sources.pop()
            if isinstance(source, _Tree):
                yield from source
            else:
                yield source
        planned, self._planned = self._planned, []
        planned.reverse()
        while planned:
            x = planned.pop()
            yield x.item() if isinstance(x, _Deferred) else x


def _siblings(path: Path) -> list[_Entry]:
    try:
        with os.scandir(path.parent) as it:
            return sorted((_Entry(path.parent / e.name, e.stat(follow_symlinks=False).st_mode)
                           for e in it if not _ignored(e.name)), key=lambda e: str(e.path))
    except OSError:
        return []


def _discover_file(path: Path) -> list[Item]:
    """The record of one regular file named on its own: a document, its sidecar, or a register.

    The folder being ingested is the file's folder. A sidecar named directly stands for the
    document it describes; a register named directly for all its rows.
    """
    root = path.parent
    if path.name in REGISTER_NAMES:
        return _register_items(path, root, set())
    siblings = _siblings(path)
    if path.suffix.lower() in SIDECAR_SUFFIXES:
        pairs = [(s, docs) for s, docs in _pair(siblings, set()) if s.path == path]
        if pairs:
            return _described(pairs, root, set())
    else:
        for suffix in SIDECAR_SUFFIXES:
            pairs = [(s, docs) for s, docs in _pair(siblings, set())
                     if s.path.name == path.stem + suffix and any(d.path == path for d in docs)]
            if pairs:
                return [it for it in _described(pairs, root, set()) if it.main == path]
        for name in REGISTER_NAMES:
            register = root / name
            if os.path.lexists(register):
                rows = [it for it in _register_items(register, root, set()) if it.main == path]
                if rows:
                    return rows[:1]
    return [Item(path, findings=(Finding("INGEST_METADATA_MISSING", str(path), "no sidecar (.json/.xml) and no register row"),),
                 root=root)]
