"""Streamed discovery (:class:`Discovery`) yields what :func:`discover` returns, item for item, on random trees.

A drop folder whose files are all documents with their own sidecars is read one sub-folder at a
time (its order produced by the walk, not a global sort); any other folder, or paths that overlap,
are discovered whole as before. Both must give the same items, findings and order.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from govarc.ingest import sources
from govarc.ingest.sources import Discovery, discover

from tests.ingest.hostile import META, register_csv, register_row, sidecar_json, sidecar_xml

# Names that sort close to each other as strings: a prefix, then '-', ' ', '.', digits, non-ASCII.
STEMS = ["a", "a-", "a b", "a.b", "a0", "a-b", "ab", "A", "0", "9-1", "文件", "文件-1", "é", "e", "z.z", "a!", "a+"]
DOC_SUFFIXES = [".pdf", ".PDF", ".doc", ".txt", ".ofd"]
SIDECAR_SUFFIXES = [".json", ".xml", ".JSON"]
IGNORED = [".hidden.pdf", "x.pdf~", "y.tmp", "z.part", ".folder"]


def _order_walk(tree: dict[str, Any], prefix: str) -> Iterator[str]:
    """Paths of a tree of names (dict: a folder, None: a file) in the walk's order: a folder's contents under name + '/'."""
    for name in sorted(tree, key=lambda n: n + "/" if isinstance(tree[n], dict) else n):
        if isinstance(tree[name], dict):
            yield from _order_walk(tree[name], f"{prefix}/{name}")
        else:
            yield f"{prefix}/{name}"


def _random_names(rng: random.Random, depth: int) -> dict[str, Any]:
    alphabet = "ab-. _09Z文é~!+,()\u3000"
    tree: dict[str, Any] = {}
    for _ in range(rng.randint(1, 12)):
        name = rng.choice(STEMS) + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 3)))
        tree[name] = _random_names(rng, depth - 1) if depth and rng.random() < 0.3 else None
    return tree


@pytest.mark.parametrize("seed", range(200))
def test_the_walk_order_is_the_global_sort_of_the_paths(seed: int) -> None:
    """Within a folder, a file under its name and a sub-folder under its name and '/': the global order."""
    rng = random.Random(seed)
    tree = _random_names(rng, 3)
    for root in ("/drop", "drop", "/文件 夹/a-b", "/"):
        walked = list(_order_walk(tree, root.rstrip("/")))
        assert walked == sorted(walked)
        assert walked == sorted(str(Path(p)) for p in walked)


class Tree:
    """A random drop folder on disk; ``simple`` keeps every file a document with its own sidecar."""

    def __init__(self, rng: random.Random, root: Path, simple: bool) -> None:
        self.rng, self.root, self.simple = rng, root, simple
        self.folders: list[Path] = []
        self.denied: set[Path] = set()
        root.mkdir(parents=True)
        self._fill(root, depth=0)

    def _fill(self, folder: Path, depth: int) -> None:
        rng = self.rng
        self.folders.append(folder)
        stems = rng.sample(STEMS, rng.randint(0, 6))
        for stem in stems:
            self._record(folder, stem)
        if rng.random() < 0.3:
            (folder / rng.choice(IGNORED)).write_bytes(b"ignored")
        if not self.simple:
            self._untidy(folder)
        if depth < 3:
            for name in rng.sample(STEMS, rng.randint(0, 3 if depth < 2 else 1)):
                sub = folder / name
                if not os.path.lexists(sub):
                    sub.mkdir()
                    self._fill(sub, depth + 1)
                    if rng.random() < 0.12:
                        self.denied.add(sub)
        if depth == 0 and rng.random() < 0.3:
            (folder / "link-to-folder").symlink_to(self.folders[-1], target_is_directory=True)
            self._describe(folder / "link-to-folder.json", [])

    def _record(self, folder: Path, stem: str) -> None:
        rng = self.rng
        suffix = rng.choice(DOC_SUFFIXES)
        doc = folder / (stem + suffix)
        kind = rng.random()
        if kind < 0.08:
            os.mkfifo(doc)
        elif kind < 0.14:
            doc.symlink_to(folder.parent / "outside.pdf" if folder != self.root else self.root / "nowhere.pdf")
        else:
            doc.write_bytes(b"%PDF-1.4\n" + stem.encode() + b"\n%%EOF\n")
        if rng.random() < 0.1:  # a second document of the same stem: the sidecar matches several
            other = folder / (stem + rng.choice([s for s in DOC_SUFFIXES if s != suffix]))
            other.write_bytes(b"other")
        attachments: list[str] = []
        if rng.random() < 0.25:
            attachments = [rng.choice(["missing.pdf", "../up.pdf", "/etc/passwd", doc.name, stem + ".json"])]
        sidecar = folder / (stem + rng.choice(SIDECAR_SUFFIXES))
        if rng.random() < 0.08:
            sidecar.write_text("{not json" if sidecar.suffix.lower() == ".json" else "<record>", encoding="utf-8")
        elif rng.random() < 0.05:
            sidecar.symlink_to(doc)
        else:
            self._describe(sidecar, attachments)

    def _describe(self, sidecar: Path, attachments: list[str]) -> None:
        if sidecar.suffix.lower() == ".xml":
            sidecar_xml(sidecar, attachments, title=f"关于{sidecar.stem}的通知")
        else:
            sidecar_json(sidecar, {"题名": f"关于{sidecar.stem}的通知"}, **({"附件": attachments} if attachments else {}))

    def _untidy(self, folder: Path) -> None:
        """What makes a folder be discovered whole: a file of its own, a second sidecar, a register."""
        rng = self.rng
        what = rng.choice(["unpaired", "orphan sidecar", "two sidecars", "register", "attached", "fifo"])
        if what == "unpaired":
            (folder / f"单独{rng.randint(0, 9)}.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
        elif what == "orphan sidecar":
            self._describe(folder / "orphan.json", [])
        elif what == "two sidecars":
            (folder / "twice.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
            self._describe(folder / "twice.json", [])
            self._describe(folder / "twice.xml", [])
        elif what == "register":
            (folder / "reg-a.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
            register_csv(folder / rng.choice(["登记表.csv", "register.csv"]),
                         [register_row("reg-a.pdf", "att.pdf"), register_row("missing.pdf"), register_row("../x.pdf")])
            (folder / "att.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
        elif what == "attached":
            (folder / "main.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
            (folder / "main-附件.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
            self._describe(folder / "main.json", ["main-附件.pdf"])
        else:
            os.mkfifo(folder / "pipe.pdf")


@pytest.fixture
def deny(monkeypatch: pytest.MonkeyPatch) -> set[Path]:
    """Folders that cannot be read. The tests run as root, whom a mode of 000 does not stop, so
    listing them fails as it would for anyone else: a PermissionError from os.scandir."""
    denied: set[Path] = set()
    scandir = os.scandir

    def refusing(path: Any = ".") -> Any:
        if Path(path) in denied:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    return denied


def _named(rng: random.Random, tmp_path: Path, tree: Tree) -> list[Path]:
    """The paths named to discovery: the drop folder, sometimes with others (some overlapping it)."""
    kind = rng.choice(["one", "one", "one", "two", "link", "file", "inside", "same", "missing", "sub"])
    drop = tree.root
    if kind == "two":
        other = Tree(rng, tmp_path / "other drop", simple=rng.random() < 0.7)
        return [drop, other.root]
    if kind == "link":
        (tmp_path / "linked").symlink_to(drop, target_is_directory=True)
        return [tmp_path / "linked"] + ([drop] if rng.random() < 0.5 else [])
    if kind == "file":
        (tmp_path / "loose").mkdir()
        (tmp_path / "loose" / "x.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
        (tmp_path / "loose" / "x.json").write_text(json.dumps(META, ensure_ascii=False), encoding="utf-8")
        return [drop, tmp_path / "loose" / rng.choice(["x.pdf", "x.json"])]
    if kind == "inside":
        files = [p for p in drop.rglob("*") if p.is_file() and not p.is_symlink() and p.parent not in tree.denied]
        return [drop, rng.choice(files)] if files else [drop, drop]
    if kind == "same":
        return [drop, drop]
    if kind == "missing":
        return [drop, tmp_path / "nowhere", tmp_path / "nowhere"]
    if kind == "sub":
        subs = [f for f in tree.folders if f != drop]
        return [rng.choice(subs), drop] if subs else [drop]
    return [drop]


@pytest.mark.parametrize("seed", range(120))
def test_streamed_discovery_is_discover_item_for_item_on_random_trees(tmp_path: Path, seed: int, deny: set[Path]) -> None:
    rng = random.Random(seed)
    simple = seed % 3 != 0
    tree = Tree(rng, tmp_path / "drop", simple)
    paths = _named(rng, tmp_path, tree)
    drop = tree.root
    deny.update(tree.denied)
    before = sorted((str(p), p.lstat().st_mtime_ns) for p in tmp_path.rglob("*"))
    whole = discover(paths)
    streamed = Discovery(paths)
    assert len(streamed) == len(whole)
    got = list(streamed)
    assert [str(it.main) for it in got] == [str(it.main) for it in whole]
    assert got == whole  # fields, attachments, findings, root: item for item
    assert list(streamed) == []  # what was yielded is not kept
    assert sorted((str(p), p.lstat().st_mtime_ns) for p in tmp_path.rglob("*")) == before  # discovery only reads
    # Denied folders come out as one finding each, where discover() puts them.
    unreadable = {it.main for it in got if it.findings and it.findings[0].code == "INGEST_UNREADABLE"}
    assert drop not in paths or {d for d in tree.denied if not any(p in d.parents for p in tree.denied)} <= unreadable


def _uses_the_stream(paths: list[Path]) -> bool:
    return sources._streamed(paths) is not None


@pytest.mark.parametrize("seed", range(40))
def test_a_tidy_tree_is_streamed_and_an_untidy_one_is_not(tmp_path: Path, seed: int, deny: set[Path]) -> None:
    """So that the test above compares the two ways of discovering, not one with itself."""
    rng = random.Random(seed)
    tidy = Tree(rng, tmp_path / "tidy", simple=True)
    untidy = Tree(rng, tmp_path / "untidy", simple=False)
    deny.update(tidy.denied | untidy.denied)
    assert _uses_the_stream([tidy.root])
    assert not _uses_the_stream([tidy.root, tidy.root])
    assert not _uses_the_stream([untidy.root])  # every folder of it is untidy
    for paths in ([tidy.root], [untidy.root], [tidy.root, untidy.root]):
        assert list(Discovery(paths)) == discover(paths)


OVERLAPS = {
    "the same folder twice": lambda drop, tmp: [drop, drop],
    "a folder and its sub-folder": lambda drop, tmp: [drop, drop / "a"],
    "a sub-folder and its folder": lambda drop, tmp: [drop / "a", drop],
    "a folder and a link to it": lambda drop, tmp: [drop, tmp / "link"],
    "a link and the folder": lambda drop, tmp: [tmp / "link", drop],
    "a folder and a file in it": lambda drop, tmp: [drop, drop / "a" / "x.pdf"],
    "a folder and a sidecar in it": lambda drop, tmp: [drop, drop / "b.json"],
    "a file twice": lambda drop, tmp: [drop / "b.pdf", drop / "b.pdf"],
    "a file through a link": lambda drop, tmp: [drop / "b.pdf", tmp / "link" / "b.pdf"],
    "the folder through ..": lambda drop, tmp: [drop, drop / "a" / ".."],
}


@pytest.mark.parametrize("case", sorted(OVERLAPS))
def test_paths_that_overlap_are_discovered_as_discover_does(tmp_path: Path, case: str) -> None:
    drop = tmp_path / "drop"
    (drop / "a").mkdir(parents=True)
    for folder, stem in ((drop, "b"), (drop / "a", "x"), (drop, "a-1")):
        (folder / f"{stem}.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
        (folder / f"{stem}.json").write_text(json.dumps(META, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "link").symlink_to(drop, target_is_directory=True)
    paths = OVERLAPS[case](drop, tmp_path)
    assert not _uses_the_stream(paths)
    whole = discover(paths)
    streamed = Discovery(paths)
    assert len(streamed) == len(whole) and list(streamed) == whole
    assert len({str(Path(str(it.main)).resolve()) for it in whole}) == len(whole)  # each document once


def _tidy(drop: Path, names: dict[str, list[str]]) -> None:
    for folder, stems in names.items():
        (drop / folder).mkdir(parents=True, exist_ok=True)
        for stem in stems:
            (drop / folder / f"{stem}.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
            (drop / folder / f"{stem}.json").write_text(json.dumps(META, ensure_ascii=False), encoding="utf-8")


CHANGES = {
    "a file with no sidecar": lambda d: (d / "s1" / "new.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n"),
    "a second sidecar": lambda d: sidecar_xml(d / "s1" / "b.xml", title="又一个通知"),
    "a bad second sidecar": lambda d: (d / "s1" / "b.xml").write_text("<record>", encoding="utf-8"),
    "a pair": lambda d: _tidy(d, {"s1": ["c"]}),
    "a sub-folder": lambda d: _tidy(d, {"s1/new": ["n"]}),
    "a document removed": lambda d: (d / "s1" / "a.pdf").unlink(),
    "a sidecar removed": lambda d: (d / "s1" / "a.json").unlink(),
    "a fifo": lambda d: os.mkfifo(d / "s1" / "pipe.pdf"),
    "a sidecar naming an attachment": lambda d: (d / "s1" / "b.json").write_text(
        json.dumps({**META, "附件": ["new.pdf"]}, ensure_ascii=False), encoding="utf-8"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_folder_that_changes_after_the_count_is_read_as_it_is_when_reached(tmp_path: Path, change: str) -> None:
    """The drop folder is counted first and read later, folder by folder: what changed in between is
    discovered as discover() would discover it then (each document once, in order); the count may differ."""
    drop = tmp_path / "drop"
    _tidy(drop, {"s0": ["a", "b"], "s1": ["a", "b"], "s2": ["a"]})
    streamed = Discovery([drop])
    assert len(streamed) == 5
    if change == "a sidecar naming an attachment":
        (drop / "s1" / "new.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    CHANGES[change](drop)
    got = list(streamed)
    assert got == discover([drop])
    assert [str(it.main) for it in got] == sorted(str(it.main) for it in got)


@pytest.mark.parametrize("register", ["登记表.csv", "register.csv"])
def test_a_register_that_appears_after_the_count_is_left_for_the_next_run(tmp_path: Path, register: str) -> None:
    drop = tmp_path / "drop"
    _tidy(drop, {"s0": ["a"], "s1": ["a", "b"]})
    streamed = Discovery([drop])
    (drop / "s1" / "r.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    register_csv(drop / "s1" / register, [register_row("r.pdf")])
    got = list(streamed)
    assert str(drop / "s1" / register) not in {str(it.main) for it in got}
    (drop / "s1" / register).unlink()
    assert got == discover([drop])  # the file it names is a file of its own, until the register is read
    assert [it.findings[0].code for it in got if it.findings] == ["INGEST_METADATA_MISSING"]


@pytest.mark.parametrize("where", ["root", "sub-folder", "deep sub-folder"])
def test_a_folder_that_becomes_unreadable_after_the_count_is_one_finding(tmp_path: Path, where: str, deny: set[Path]) -> None:
    drop = tmp_path / "drop"
    _tidy(drop, {"s0": ["a"], "s1": ["a", "b"], "s1/t": ["c"]})
    streamed = Discovery([drop])
    assert len(streamed) == 4
    target = {"root": drop, "sub-folder": drop / "s1", "deep sub-folder": drop / "s1" / "t"}[where]
    deny.add(target)
    got = list(streamed)
    assert got == discover([drop])
    assert [(it.main, it.findings[0].code) for it in got if it.findings] == [(target, "INGEST_UNREADABLE")]


@pytest.mark.parametrize("names", [
    ["a", "a-b", "a.b", "a b", "a0", "a_b", "a~b"],
    ["文件", "文件-1", "文件1", "文件 1", "文件.1"],
    ["x", "x!", "x+", "x,", "x-", "x.", "x0"],
    ["é", "e", "E", "ë", "z"],
])
def test_sub_folders_and_files_whose_names_share_a_prefix_come_out_in_the_global_order(tmp_path: Path, names: list[str]) -> None:
    """Each name both as a sub-folder and as a document beside it: '-', ' ', '!', '.' sort before '/'."""
    drop = tmp_path / "drop"
    for name in names:
        _tidy(drop, {name: ["d"], ".": [f"{name}-doc", f"{name}"]})
    paths = [drop]
    assert _uses_the_stream(paths)
    got = list(Discovery(paths))
    assert got == discover(paths)
    assert [str(it.main) for it in got] == sorted(str(it.main) for it in got)
    assert len(got) == 3 * len(names)


def test_ignored_and_hidden_names_are_ignored_as_before(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    _tidy(drop, {"s": ["a"], ".hidden": ["h"], "tmp.tmp": ["t"]})
    for name in IGNORED:
        (drop / "s" / name).write_bytes(b"x")
    assert _uses_the_stream([drop])
    got = list(Discovery([drop]))
    assert got == discover([drop]) and [it.main for it in got] == [drop / "s" / "a.pdf"]


def test_a_stem_with_no_suffix_and_a_stem_with_a_dot(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "plain").write_bytes(b"x")
    (drop / "plain.json").write_text(json.dumps(META, ensure_ascii=False), encoding="utf-8")
    (drop / "v1.2.pdf").write_bytes(b"x")
    (drop / "v1.2.json").write_text(json.dumps(META, ensure_ascii=False), encoding="utf-8")
    assert PurePosixPath("v1.2.pdf").stem == "v1.2"
    assert _uses_the_stream([drop])
    assert list(Discovery([drop])) == discover([drop])
