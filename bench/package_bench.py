#!/usr/bin/env python3
"""Time `govarc package build`, `govarc verify` and the start-up of govarc against the tools they replace.

Generates a deterministic corpus (many small files, a few large ones), warms the page cache by
reading it once, then runs every tool as a subprocess, `--repeat` times, and prints three tables
with min/median/max seconds:

- **build**: `govarc package build` against `cp -a SRC DST && sync` (target <= 1.3x), with
  `bagit.py` making a bag in place and the library without the final sync for diagnosis;
- **verify**: `govarc verify` of the one large package against the hashing limit (SHA-256 alone
  with hashlib, 1 MiB blocks, a thread per core, process start included; target <= 1.3x),
  `sha256sum` and `bagit.py --validate --processes 2` (target: govarc at least 1.5x faster);
- **start-up**: `govarc --help` and `govarc verify` of a one-file package, signed, in its
  workspace (target <= 0.15 s each) against `python -c pass` and `openssl cms -verify` of the
  same signature.

MB is 10^6 bytes; the ratio columns use medians.

    .venv/bin/python bench/package_bench.py                 # defaults: 6000 x 4-200 KB + 2 x 32 MB
    .venv/bin/python bench/package_bench.py --repeat 3      # min/median/max of three runs per tool
    .venv/bin/python bench/package_bench.py --content random    # the worst case for identification
    .venv/bin/python bench/package_bench.py --small 500 --large 1 --large-mb 8 --zip --sm3 --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import ssl
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from collections.abc import Callable

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

# The hashing limit, run in a fresh interpreter so its RSS and start-up count like the others'.
HASH_LIMIT = r"""
import hashlib, os, sys
from concurrent.futures import ThreadPoolExecutor
paths = sys.stdin.read().split("\0")
def digest(path):
    h = hashlib.sha256()
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    fd = os.open(path, os.O_RDONLY)
    try:
        while n := os.readv(fd, [buf]):
            h.update(view[:n])
    finally:
        os.close(fd)
    return h.hexdigest()
with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
    n = sum(1 for _ in pool.map(digest, paths))
assert n == len(paths)
"""


@dataclass
class Row:
    table: str  # build, verify or start-up
    tool: str
    seconds: float  # the median
    min_s: float
    max_s: float
    mb_per_s: float
    files_per_s: float
    peak_rss_mb: float
    ratio: float | None = None  # to the table's reference (cp -a + sync, the hashing limit, python -c pass)
    runs: tuple[float, ...] = ()


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--small", type=int, default=6000, help="number of small files (default 6000)")
    p.add_argument("--small-min-kb", type=int, default=4, help="smallest small file in KB (default 4)")
    p.add_argument("--small-max-kb", type=int, default=200, help="largest small file in KB (default 200)")
    p.add_argument("--large", type=int, default=2, help="number of large files (default 2)")
    p.add_argument("--large-mb", type=int, default=32, help="size of each large file in MB (default 32)")
    p.add_argument("--out", type=Path, default=HERE / "out", help="work folder (default bench/out)")
    p.add_argument("--sm3", action="store_true", help="also time a build with SM3 manifests")
    p.add_argument("--zip", action="store_true", help="also time a zip build and its verify")
    p.add_argument("--repeat", type=int, default=3, help="runs per tool (default 3): min, median and max")
    p.add_argument("--startup-repeat", type=int, default=20, help="runs per start-up command (default 20)")
    p.add_argument("--keep", action="store_true", help="keep the corpus (reused by the next run) and the outputs")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    p.add_argument("--seed", type=int, default=46, help="corpus seed (default 46)")
    p.add_argument("--content", choices=["documents", "random"], default="documents",
                   help="documents (default): every file starts as a PDF, TIFF, JPEG or PNG does, then random bytes; "
                        "random: a quarter start like a PDF, the rest are random bytes (the worst case for libmagic)")
    return p.parse_args()


def machine_facts() -> dict[str, object]:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    model = next((ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")), platform.processor())
    flags = next((ln.split(":", 1)[1].split() for ln in cpuinfo.splitlines() if ln.startswith("flags")), [])
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "sha_ni": "sha_ni" in flags,
        "python": platform.python_version(),
        "openssl": ssl.OPENSSL_VERSION,
        "platform": platform.platform(),
        "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


#: What a document of each kind starts with (enough for libmagic to name it); the rest is random.
HEADS = {
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    "tif": b"II*\x00\x08\x00\x00\x00",
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x04\xb0\x00\x00\x06\x90\x08\x02\x00\x00\x00",
}


def make_corpus(args: argparse.Namespace) -> tuple[Path, list[Path], int]:
    """Write the corpus under out/corpus (reused when its parameters match) and list its files."""
    root = args.out / "corpus"
    stamp = args.out / "corpus.json"
    params = {k: getattr(args, k) for k in ("small", "small_min_kb", "small_max_kb", "large", "large_mb", "seed", "content")}
    if not (stamp.exists() and json.loads(stamp.read_text()) == params and root.is_dir()):
        shutil.rmtree(root, ignore_errors=True)
        stamp.unlink(missing_ok=True)
        rng = random.Random(args.seed)
        for i in range(args.small):
            # A mix of folders and names, some Chinese, as a records office would hand over.
            folder = root / (f"卷{i % 30:02d}" if i % 3 else f"vol-{i % 20:02d}")
            size = rng.randint(args.small_min_kb * 1000, args.small_max_kb * 1000)
            data = rng.randbytes(size)
            if args.content == "random":
                name = f"正文与附件-{i:05d}.pdf" if i % 4 == 0 else f"attachment_{i:05d}.dat"
                head = HEADS["pdf"] if i % 4 == 0 else b""
            else:
                kind = ("pdf", "tif", "jpg", "png")[i % 4]
                name = f"正文与附件-{i:05d}.{kind}" if kind == "pdf" else f"attachment_{i:05d}.{kind}"
                head = HEADS[kind]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(head + data[len(head):])
        for i in range(args.large):
            with open(root / f"扫描件-{i}.tif", "wb") as f:
                for k in range(args.large_mb):
                    block = rng.randbytes(1_000_000)
                    if k == 0 and args.content == "documents":
                        block = HEADS["tif"] + block[len(HEADS["tif"]):]
                    f.write(block)
        stamp.write_text(json.dumps(params))
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return root, files, sum(p.stat().st_size for p in files)


def warm(files: list[Path]) -> None:
    """Read every file once so every tool starts with the corpus in the page cache."""
    buf = bytearray(1 << 20)
    for p in files:
        with open(p, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass


def run(cmd: list[str], stdin: bytes | None = None, cwd: Path | None = None) -> tuple[float, float]:
    """Run ``cmd``; return its wall seconds and the peak RSS in MB of its largest process.

    wait4 reports max(ru_maxrss) over a child and the descendants it reaped, so for bagit's worker
    pool and xargs this is the largest single process, not their sum. But Linux carries the RSS of
    the process that forked a child into the child's ru_maxrss across exec, so a child of this
    (20+ MB) Python would never show less than this script's own size. GNU time, a small process,
    forks the tool itself and reports its wait4 figure, so it is used when present.
    """
    rss_file = None
    if GNU_TIME:
        rss_file = OUT_TMP / "rss.txt"
        cmd = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *cmd]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    # Drain both pipes before wait4 so a chatty tool never blocks on a full pipe.
    out, err = _drain(proc, stdin)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code != 0:
        raise SystemExit(f"{cmd[0]} failed ({code}): {err.decode(errors='replace')[-2000:]}")
    if "verify" in cmd and b"INVALID" in out:
        raise SystemExit(f"govarc verify says the package is invalid: {out.decode(errors='replace')[:2000]}")
    if rss_file is not None:
        return seconds, int(rss_file.read_text().split()[-1]) / 1024
    return seconds, usage.ru_maxrss / 1024


GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
OUT_TMP = Path(".")
def _drain(proc: subprocess.Popen[bytes], stdin: bytes | None) -> tuple[bytes, bytes]:
    """Feed ``stdin`` and read stdout and stderr to their ends without reaping the child."""
    import threading

    chunks: dict[str, bytes] = {}

    def read(name: str, stream) -> None:  # type: ignore[no-untyped-def]
        chunks[name] = stream.read()

    readers = [threading.Thread(target=read, args=(n, s)) for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for t in readers:
        t.start()
    if proc.stdin is not None:
        proc.stdin.write(stdin or b"")
        proc.stdin.close()
    for t in readers:
        t.join()
    return chunks["out"], chunks["err"]


def create_cost(folder: Path, n: int = 300) -> float:
    """Milliseconds to create one empty file in ``folder``: a build creates one per payload file.

    On ext4 this swings from 0.03 to nearly 1 ms with the state of the inode group the folder
    lives in and with other writers, which moves the build's time (but not bagit's, which
    renames) by seconds for thousands of files.
    """
    probe = folder / "create-probe"
    remove(probe)
    probe.mkdir()
    t0 = time.perf_counter()
    for i in range(n):
        os.close(os.open(probe / f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    ms = (time.perf_counter() - t0) * 1000 / n
    remove(probe)
    return ms


def tool(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    which = shutil.which(name)
    if which is None:
        raise SystemExit(f"{name} not found beside {sys.executable} or on PATH")
    return which


def metadata_file(out: Path) -> Path:
    path = out / "record.json"
    path.write_text(json.dumps({
        "archival_code": "0012-WS·2024-Y-BGS-0001",
        "title": "关于基准测试的通知",
        "issuer": ["办公室"],
        "date": "2024-05-20",
        "classification": "公开",
        "agency_code": "BGS",
        "fonds_name": "某市人民政府办公室",
        "creator_name": "某市人民政府办公室",
    }, ensure_ascii=False), encoding="utf-8")
    return path


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


PASSPHRASE = "bench-only-passphrase"


def startup_fixture(govarc: str, out: Path, meta: Path) -> tuple[Path, Path, Path]:
    """A workspace with agency BGS and its key from a local CA, and a one-file package BGS signed.

    Returns (workspace, signed package, unsigned package).
    """
    ws, doc, signed, unsigned = (out / n for n in ("startup-ws", "startup-doc", "startup-pkg", "startup-pkg-unsigned"))
    for p in (ws, doc, signed, unsigned):
        remove(p)
    doc.mkdir()
    (doc / "正文.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    env = {**os.environ, "GOVARC_KEY_PASSPHRASE": PASSPHRASE}
    for cmd in (["init"], ["agency", "add", "BGS", "--name", "某市人民政府办公室", "--fonds", "0012"],
                ["pki", "init-ca"], ["pki", "issue", "BGS"]):
        subprocess.run([govarc, "--home", str(ws), *cmd], check=True, capture_output=True, env=env)
    for pkg in (signed, unsigned):
        subprocess.run([govarc, "package", "build", str(doc), "--metadata", str(meta), "--out", str(pkg)],
                       check=True, capture_output=True)
    subprocess.run([govarc, "--home", str(ws), "sign", str(signed), "--agency", "BGS"], check=True, capture_output=True, env=env)
    return ws, signed, unsigned


def time_quick(cmd: list[str], cwd: Path | None, runs: int) -> list[float]:
    """Wall seconds of ``runs`` runs of a short command (output discarded; a failure stops the bench)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - t0)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode(errors='replace')[-2000:]}")
    return times


def main() -> int:
    args = parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    global OUT_TMP
    OUT_TMP = args.out
    govarc, bagit = tool("govarc"), tool("bagit.py")
    openssl = shutil.which("openssl")
    say = (lambda *a: print(*a, file=sys.stderr)) if not args.json else (lambda *a: None)

    say("generating corpus…")
    corpus, files, total = make_corpus(args)
    say(f"corpus: {len(files)} files, {total / 1e6:.1f} MB; warming the page cache")
    warm(files)
    rel = [str(p.relative_to(corpus)) for p in files]
    nul_list = "\0".join(rel).encode()
    meta = metadata_file(args.out)
    pkg, pkg_zip, pkg_sm3, bag = (args.out / n for n in ("pkg", "pkg.zip", "pkg-sm3", "bagit-copy"))
    cp_copy = args.out / "cp-copy"
    pkg_nosync = args.out / "pkg-nosync"

    def fresh(target: Path) -> Callable[[], None]:
        def prepare() -> None:
            remove(target)
            os.sync()  # nothing of the previous run left to write back during this one
        return prepare

    def build(target: Path, *extra: str) -> tuple[Callable[[], None], list[str]]:
        return fresh(target), [govarc, "package", "build", str(corpus), "--metadata", str(meta), "--out", str(target), *extra]

    def bagit_copy() -> None:
        remove(bag)
        shutil.copytree(corpus, bag)  # bagit bags in place: time only the make, never the copy
        os.sync()

    def no_sync_build() -> list[str]:
        # The library with durable=False: what the fsync/syncfs before the rename costs.
        code = ("import sys; from pathlib import Path; from govarc.package.build import build_package; "
                "from govarc.package.metadata import load_metadata; "
                "build_package(Path(sys.argv[1]), load_metadata(Path(sys.argv[2])), Path(sys.argv[3]), durable=False)")
        return [sys.executable, "-c", code, str(corpus), str(meta), str(pkg_nosync)]

    half = max(1, (len(files) + 7) // 8)  # 8 batches so two sha256sum processes stay balanced
    limit_name = "hashing limit (hashlib, %d threads)" % (os.cpu_count() or 1)
    cp_name = "cp -a SRC DST && sync"
    # (table, name, prepare, command, stdin, cwd)
    plan: list[tuple[str, str, Callable[[], None] | None, list[str], bytes | None, Path | None]] = [
        ("build", cp_name, fresh(cp_copy), ["sh", "-c", 'cp -a "$1" "$2" && sync', "sh", str(corpus), str(cp_copy)], None, None),
        ("build", "govarc package build", *build(pkg), None, None),
        ("build", "  same, library, no fsync", fresh(pkg_nosync), no_sync_build(), None, None),
        ("build", "bagit.py make in place (--processes 2)", bagit_copy,
         [bagit, "--processes", "2", "--sha256", "--quiet", str(bag)], None, None),
        ("verify", limit_name, None, [sys.executable, "-c", HASH_LIMIT], nul_list, corpus),
        ("verify", "govarc verify", None, [govarc, "verify", "--allow-unsigned", str(pkg)], None, None),
        ("verify", "sha256sum (1 process)", None, ["xargs", "-0", "-s", "1900000", "sha256sum", "--"], nul_list, corpus),
        ("verify", "sha256sum (xargs -P2)", None, ["xargs", "-0", "-P2", "-n", str(half), "sha256sum", "--"], nul_list, corpus),
        ("verify", "bagit.py --validate --processes 2", None, [bagit, "--validate", "--processes", "2", "--quiet", str(bag)], None, None),
    ]
    if args.sm3:
        plan.append(("build", "govarc package build --sm3", *build(pkg_sm3, "--sm3"), None, None))
        plan.append(("verify", "govarc verify (sha256+sm3)", None, [govarc, "verify", "--allow-unsigned", str(pkg_sm3)], None, None))
    if args.zip:
        plan.append(("build", "govarc package build --zip", *build(pkg_zip, "--zip"), None, None))
        plan.append(("verify", "govarc verify (zip)", None, [govarc, "verify", "--allow-unsigned", str(pkg_zip)], None, None))

    times: dict[str, list[float]] = {name: [] for _, name, *_ in plan}
    rss: dict[str, float] = {name: 0.0 for _, name, *_ in plan}
    for rep in range(args.repeat):
        for _, name, prepare, cmd, stdin, cwd in plan:
            if prepare is not None:
                prepare()
            say(f"[{rep + 1}/{args.repeat}] {name}")
            seconds, peak = run(cmd, stdin, cwd)
            times[name].append(seconds)
            rss[name] = max(rss[name], peak)

    say("start-up: a one-file package, signed, in its workspace")
    ws, small, small_unsigned = startup_fixture(govarc, args.out, meta)
    # govarc's bytecode compiled, as an install leaves it: with PYTHONDONTWRITEBYTECODE set (or a
    # read-only checkout) a module changed since its .pyc would be compiled again on every run.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parents[1] / "govarc")],
                   check=True, stdout=subprocess.DEVNULL)
    startup: list[tuple[str, list[str], Path | None]] = [
        ("python -c pass", [sys.executable, "-c", "pass"], None),
        ("govarc --help", [govarc, "--help"], None),
        ("govarc verify PKG (signed, in its workspace)", [govarc, "verify", str(small)], ws),
        ("govarc verify --allow-unsigned PKG", [govarc, "verify", "--allow-unsigned", str(small_unsigned)], None),
    ]
    if openssl:
        startup.append(("openssl cms -verify (the same signature)", [
            openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(small / "signatures" / "BGS.p7s"),
            "-content", str(small / "tagmanifest-sha256.txt"), "-CAfile", str(ws / "trust" / "local-ca.pem"),
            "-purpose", "any", "-out", os.devnull], None))
    startup_times: dict[str, list[float]] = {name: [] for name, *_ in startup}
    for rep in range(args.startup_repeat):  # interleaved, so a burst of load hits every command alike
        for name, cmd, cwd in startup:
            startup_times[name] += time_quick(cmd, cwd, 1)

    facts = machine_facts()
    facts["create_ms"] = round(create_cost(args.out), 3)
    references = {"build": statistics.median(times[cp_name]), "verify": statistics.median(times[limit_name])}
    rows = []
    for table, name, *_ in plan:
        runs = times[name]
        s = statistics.median(runs)
        rows.append(Row(table, name, s, min(runs), max(runs), total / 1e6 / s, len(files) / s, rss[name],
                        s / references[table], tuple(runs)))
    pass_s = statistics.median(startup_times["python -c pass"])
    for name, *_ in startup:
        runs = startup_times[name]
        s = statistics.median(runs)
        rows.append(Row("start-up", name, s, min(runs), max(runs), 0.0, 0.0, 0.0, s / pass_s, tuple(runs)))

    med = {r.tool: r.seconds for r in rows}
    bagit_validate = med["bagit.py --validate --processes 2"]
    targets = [
        ("build", f"govarc package build <= 1.3x `{cp_name}`", med["govarc package build"] / med[cp_name], 1.3, "<="),
        ("verify", "govarc verify <= 1.3x the hashing limit", med["govarc verify"] / med[limit_name], 1.3, "<="),
        ("verify", "govarc verify >= 1.5x faster than bagit.py --validate", bagit_validate / med["govarc verify"], 1.5, ">="),
        ("start-up", "govarc --help <= 0.15 s", med["govarc --help"], 0.15, "<="),
        ("start-up", "govarc verify PKG <= 0.15 s", med["govarc verify PKG (signed, in its workspace)"], 0.15, "<="),
    ]
    verdicts = [(table, text, value, bound, value <= bound if op == "<=" else value >= bound)
                for table, text, value, bound, op in targets]
    corpus_facts = {"files": len(files), "bytes": total, "small": args.small, "small_kb": [args.small_min_kb, args.small_max_kb],
                    "large": args.large, "large_mb": args.large_mb, "repeat": args.repeat,
                    "startup_repeat": args.startup_repeat, "cache": "warm", "content": args.content}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if args.json:
        print(json.dumps({"machine": facts, "corpus": corpus_facts, "rows": [asdict(r) for r in rows],
                          "targets": [{"table": t, "target": x, "value": round(v, 3), "bound": b, "met": m}
                                      for t, x, v, b, m in verdicts]},
                         ensure_ascii=False, indent=2))
    else:
        print(f"machine: {facts['cpu']}, {facts['cores']} cores, sha_ni {'yes' if facts['sha_ni'] else 'no'}, "
              f"Python {facts['python']}, {facts['openssl']}, load {load:.2f}; "
              f"creating an empty file in --out takes {facts['create_ms']:.2f} ms")
        print(f"corpus ({args.content}): {len(files)} files ({args.small} x {args.small_min_kb}-{args.small_max_kb} KB + "
              f"{args.large} x {args.large_mb} MB), {total / 1e6:.1f} MB; page cache warm (read once before timing); "
              f"{args.repeat} run(s) per tool, {args.startup_repeat} per start-up command; MB = 10^6 bytes; "
              "RSS = largest process" + ("" if GNU_TIME else " (incl. this script's size: no GNU time)"))
        titles = {"build": ("build 打包", f"x {cp_name.split(' SRC')[0]}+sync"), "verify": ("verify 校验", "x limit"),
                  "start-up": ("start-up 启动", "x python")}
        for table in ("build", "verify", "start-up"):
            title, ratio_head = titles[table]
            header = (f"{title:<44} {'min s':>7} {'median':>7} {'max s':>7} {'MB/s':>6} {'files/s':>7} "
                      f"{'RSS MB':>6} {ratio_head:>10}")
            print()
            print(header)
            print("-" * len(header))
            for r in rows:
                if r.table != table:
                    continue
                if table == "start-up":
                    print(f"{r.tool:<44} {r.min_s:>7.3f} {r.seconds:>7.3f} {r.max_s:>7.3f} {'':>6} {'':>7} {'':>6} {r.ratio:>10.2f}")
                else:
                    print(f"{r.tool:<44} {r.min_s:>7.2f} {r.seconds:>7.2f} {r.max_s:>7.2f} {r.mb_per_s:>6.0f} "
                          f"{r.files_per_s:>7.0f} {r.peak_rss_mb:>6.1f} {r.ratio:>10.2f}")
            for t, text, value, bound, met in verdicts:
                if t == table:
                    shown = f"{value:.3f} s" if table == "start-up" else f"{value:.2f}x"
                    print(f"target 目标: {text}: {shown}, {'met 达标' if met else 'NOT met 未达标'}")
    if not args.keep:
        for p in (pkg, pkg_zip, pkg_sm3, bag, cp_copy, pkg_nosync, corpus, args.out / "corpus.json", meta, args.out / "rss.txt",
                  ws, small, small_unsigned, args.out / "startup-doc"):
            remove(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
