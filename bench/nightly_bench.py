#!/usr/bin/env python3
"""Time `govarc nightly` end to end on N one-page official documents spread over several agencies.

For each N, generates (or reuses) a deterministic corpus of one-page Chinese official-document
PDFs with JSON sidecars, writes a city.toml, runs `govarc init`, optionally creates a local CA and
one key per agency (so packages are signed as in production), then runs `govarc nightly` twice
as a subprocess: the first run ingests and packages everything, the second finds nothing new.
Each N is run --repeat times in a fresh workspace; prints the median seconds (with min and max),
records/s, the peak RSS of the largest process of the job (the main process or a pool worker) and
of the whole process tree at once, the first run's ingest and package step seconds (from its run
log) and the second run's seconds. MB is 10^6 bytes. The last workspace (home-N) is kept for
inspection until the next run of the bench. --profile runs the first nightly under py-spy.

    .venv/bin/python bench/nightly_bench.py                        # N = 1,000 and 10,000, signed, 3 repeats
    .venv/bin/python bench/nightly_bench.py --n 1000 10000 100000 --repeat 1   # the 100k row too
    .venv/bin/python bench/nightly_bench.py --n 1000 --repeat 1 --profile bench/out/nightly.spy
    .venv/bin/python bench/nightly_bench.py --n 1000 --no-sign     # unsigned, for comparison
    .venv/bin/python bench/nightly_bench.py --n 200 --agencies 2 --zip --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PASSPHRASE = "bench-only-passphrase"
CORPUS_VERSION = "1"  # bump when the generated documents change, so cached corpora are rebuilt

# Codes, names and fonds of the fictional agencies (cycled, with a number, past the list).
AGENCIES = [
    ("SZF", "柳州市人民政府办公室", "0012", "BGS", "柳政发"),
    ("CZJ", "柳州市财政局", "0035", "CWK", "柳财发"),
    ("DAJ", "柳州市档案局", "0001", "YWK", "柳档发"),
    ("JYJ", "柳州市教育局", "0041", "JCK", "柳教发"),
    ("WJW", "柳州市卫生健康委员会", "0052", "YZK", "柳卫发"),
    ("ZJJ", "柳州市住房和城乡建设局", "0063", "JSK", "柳建发"),
]
SUBJECTS = ["安全生产", "财政预算", "档案整理", "教育督导", "疫情防控", "城市更新", "人才引进", "营商环境"]


@dataclass
class Row:
    n: int
    agencies: int
    signed: bool
    zipped: bool
    seconds: float  # the median of the repeats
    records_per_s: float  # n / the median
    peak_rss_mb: float  # the largest single process of the job (main or a pool worker)
    tree_rss_mb: float  # the largest sum over the job's processes seen at one sample
    processes: int  # distinct processes seen in the job's tree
    cpu_seconds: float  # user + system time of the job's processes
    second_seconds: float
    packaged: int
    ingest_seconds: float = 0.0  # the first run's ingest steps (all agencies), from its run log
    package_seconds: float = 0.0  # the first run's package steps (building and signing)
    cpu_ms_per_record: float = 0.0  # cpu_seconds / n: less sensitive than seconds to other load on the machine
    load_average: float = 0.0  # the 1-minute load average as the first run ended (the job's own and other work)
    repeats: int = 1
    seconds_min: float = 0.0
    seconds_max: float = 0.0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--n", type=int, nargs="+", default=[1000, 10000],
                   help="record counts (default 1000 10000; add 100000 for the 100k row, ~10 min and 1.5 GB of disk)")
    p.add_argument("--repeat", type=int, default=3,
                   help="runs per N, each in a fresh workspace (default 3): min/median/max seconds")
    p.add_argument("--agencies", type=int, default=4, help="number of agencies (default 4)")
    p.add_argument("--out", type=Path, default=HERE / "out" / "nightly", help="work folder (default bench/out/nightly)")
    p.add_argument("--sign", action=argparse.BooleanOptionalAction, default=True,
                   help="create a local CA and agency keys so packages are signed (default on)")
    p.add_argument("--zip", action="store_true", help="package as .zip")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    p.add_argument("--workers", type=int, default=0, help="workspace.workers in govarc.toml (0: one per core)")
    p.add_argument("--profile", type=Path, metavar="FILE",
                   help="run the first nightly under py-spy (pip install py-spy) and write its collapsed stacks, "
                        "all processes and threads, to FILE (one per N: FILE-N); bench/profile_summary.py reads them")
    return p.parse_args()


# --- corpus -----------------------------------------------------------------------------------


def agency_list(count: int) -> list[tuple[str, str, str, str, str]]:
    out = []
    for i in range(count):
        code, name, fonds, unit, prefix = AGENCIES[i % len(AGENCIES)]
        if i >= len(AGENCIES):
            k = i // len(AGENCIES)
            code, name, fonds, prefix = f"{code}{k}", f"{name}（{k}）", f"{int(fonds) + 100 * k:04d}", f"{prefix}{k}"
        out.append((code, name, fonds, unit, prefix))
    return out


def _make_docs(args: tuple[str, str, str, list[int]]) -> int:
    """Write documents ``numbers`` of one agency into ``folder`` (runs in a pool worker)."""
    folder, agency_name, prefix, numbers = args
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    base = Path(folder)
    for i in numbers:
        year = 2020 + i % 5
        number = f"{prefix}〔{year}〕{i}号"
        subject = SUBJECTS[i % len(SUBJECTS)]
        title = f"关于做好第{i}批{subject}工作的通知"
        date_text = f"{year}年{i % 12 + 1}月{i % 28 + 1}日"
        sub = base / f"{i // 1000:03d}"  # a few sub-folders, as a drop folder of scans tends to have
        sub.mkdir(parents=True, exist_ok=True)
        c = canvas.Canvas(str(sub / f"{number}.pdf"), invariant=1)
        c.setFont("STSong-Light", 22)
        c.drawString(120, 760, f"{agency_name}文件")
        c.setFont("STSong-Light", 14)
        c.drawString(220, 720, number)
        c.drawString(80, 680, title)
        c.drawString(80, 640, f"各有关单位：现将第{i}批{subject}工作有关事项通知如下，请认真贯彻执行。")
        c.drawString(80, 615, "特此通知。")
        c.drawString(330, 560, date_text)
        c.save()
        meta = {"题名": title, "责任者": agency_name, "保管期限": ("Y", "D30", "D10")[i % 3], "密级": "公开",
                "主题词": [subject, "通知"]}
        (sub / f"{number}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return len(numbers)


def reusable(root: Path) -> bool:
    """Whether ``root`` is a complete earlier bench workspace (see :func:`mark_complete`); otherwise
    whatever a run cut short left there is removed, for a fresh start."""
    if (root / ".complete").is_file():
        return True
    if root.exists():
        shutil.rmtree(root)
    return False


def mark_complete(root: Path, note: str = "") -> None:
    """Mark ``root`` complete: the next run reuses it (:func:`reusable`)."""
    (root / ".complete").write_text(note, encoding="utf-8")


def make_corpus(root: Path, n: int, agencies: list[tuple[str, str, str, str, str]]) -> tuple[Path, float]:
    """The corpus folder for ``n`` records (reused when complete); and seconds spent making it."""
    tag = f"corpus-n{n}-a{len(agencies)}-v{CORPUS_VERSION}"
    corpus = root / tag
    if reusable(corpus):
        return corpus, 0.0
    started = time.monotonic()
    jobs = []
    for a, (code, name, _fonds, _unit, prefix) in enumerate(agencies):
        count = n // len(agencies) + (1 if a < n % len(agencies) else 0)  # every agency gets ~n/len
        numbers = list(range(1, count + 1))
        for k in range(0, len(numbers), 250):
            jobs.append((str(corpus / "drop" / code), name, prefix, numbers[k:k + 250]))
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        made = sum(pool.map(_make_docs, jobs))
    assert made == n, (made, n)
    lines = []
    for code, name, fonds, unit, _prefix in agencies:
        lines += ["[[agency]]", f'code = "{code}"', f'name = "{name}"', f'fonds = "{fonds}"', f'unit = "{unit}"',
                  f'drop = "drop/{code}"', "unsigned = true  # allows --no-sign runs; with a key packages are signed", ""]
    (corpus / "city.toml").write_text("\n".join(lines), encoding="utf-8")
    mark_complete(corpus, f"{n} records\n")
    return corpus, time.monotonic() - started


# --- measuring a run --------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _status_kb(pid: int, keys: tuple[str, ...]) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in keys:
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def _cpu_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime, stime


class TreeWatch:
    """Samples the RSS of a process and all its descendants from /proc until stopped."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.hwm_kb: dict[int, int] = {}  # each process's own peak (VmHWM), as last seen
        self.cpu_ticks: dict[int, int] = {}  # each process's user + system clock ticks, as last seen
        self.tree_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.available = Path("/proc/self/status").is_file()

    def __enter__(self) -> TreeWatch:
        if self.available:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.available:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            kids = _children()
            stack, tree = [self.pid], []
            while stack:
                p = stack.pop()
                tree.append(p)
                stack.extend(kids.get(p, []))
            total = 0
            for p in tree:
                s = _status_kb(p, ("VmHWM", "VmRSS"))
                if "VmHWM" in s:
                    self.hwm_kb[p] = max(self.hwm_kb.get(p, 0), s["VmHWM"])
                    total += s.get("VmRSS", 0)
                ticks = _cpu_ticks(p)
                if ticks is not None:
                    self.cpu_ticks[p] = max(self.cpu_ticks.get(p, 0), ticks)
            self.tree_kb = max(self.tree_kb, total)
            self._stop.wait(self.interval)


def run_timed(cmd: list[str], env: dict[str, str], log: Path) -> tuple[float, int, int, int, int, float]:
    """Run ``cmd``; its wall seconds, exit code, peak RSS of its largest process and of its tree (KB),
    process count, and CPU seconds of the tree (user + system; pool workers as last sampled)."""
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        with TreeWatch(proc.pid) as watch:
            _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak = max([usage.ru_maxrss] + list(watch.hwm_kb.values()))
    hz = os.sysconf("SC_CLK_TCK")
    others = sum(t for p, t in watch.cpu_ticks.items() if p != proc.pid) / hz
    cpu = usage.ru_utime + usage.ru_stime + others
    return seconds, proc.returncode, peak, max(watch.tree_kb, usage.ru_maxrss), len(watch.hwm_kb), cpu


def govarc(home: Path, env: dict[str, str], *args: str) -> None:
    result = subprocess.run([str(BIN / "govarc"), "--home", str(home), *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"govarc {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")


def bench_one(args: argparse.Namespace, n: int, agencies: list[tuple[str, str, str, str, str]], env: dict[str, str]) -> Row:
    corpus, made = make_corpus(args.out, n, agencies)
    if made and not args.json:
        print(f"# generated {n} documents in {made:.1f} s ({corpus})", file=sys.stderr)
    home = args.out / f"home-n{n}"
    if home.exists():
        # Removed after the measurements: on ext4, creating files right after deleting tens of
        # thousands costs several times more system time (the inode allocator skips the
        # recently deleted ones), which no nightly run meets in service.
        trash = args.out / ".trash"
        trash.mkdir(exist_ok=True)
        os.rename(home, trash / f"{home.name}-{time.time_ns()}")
    home.mkdir(parents=True)
    govarc(home, env, "init", "--config", str(corpus / "city.toml"))
    cfg = home / "govarc.toml"
    text = cfg.read_text(encoding="utf-8")
    text = text.replace("zip = false", f"zip = {'true' if args.zip else 'false'}")
    text = text.replace("workers = 0", f"workers = {args.workers}")
    cfg.write_text(text, encoding="utf-8")
    if args.sign:
        govarc(home, env, "pki", "init-ca", "--name", "柳州市档案馆 测试CA (bench only)")
        for code, *_ in agencies:
            govarc(home, env, "pki", "issue", code)
    subprocess.run(["sync"], check=False)  # start both runs with nothing of the set-up left to write back
    cmd = [str(BIN / "govarc"), "--home", str(home), "nightly"]
    first = cmd
    if args.profile:
        spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
        if spy is None:
            sys.exit("--profile needs py-spy (pip install py-spy)")
        out = args.profile.with_name(f"{args.profile.name}-{n}")
        first = [spy, "record", "--subprocesses", "--threads", "--nonblocking", "--rate", "250", "--format", "raw",
                 "--output", str(out), "--", *cmd]
    seconds, code, peak, tree, procs, cpu = run_timed(first, env, args.out / f"nightly-n{n}-1.log")
    load = os.getloadavg()[0]
    if code != 0:
        sys.exit(f"govarc nightly exited {code}; see {args.out / f'nightly-n{n}-1.log'}")
    second, code2, _, _, _, _ = run_timed(cmd, env, args.out / f"nightly-n{n}-2.log")
    if code2 != 0:
        sys.exit(f"second govarc nightly exited {code2}; see {args.out / f'nightly-n{n}-2.log'}")
    store = home / "store"
    packaged = sum(1 for a in store.iterdir() for p in a.iterdir() if not p.name.startswith("."))
    if packaged != n:
        sys.exit(f"expected {n} packages in {store}, found {packaged}")
    if args.sign:
        first = next(p for a in sorted(store.iterdir()) for p in sorted(a.iterdir()) if not p.name.startswith("."))
        if args.zip:
            import zipfile

            with zipfile.ZipFile(first) as zf:
                signed = any("/signatures/" in n and n.endswith(".p7s") for n in zf.namelist())
        else:
            signed = any((first / "signatures").glob("*.p7s"))
        if not signed:
            sys.exit(f"--sign, but {first} has no signature")
    steps = _step_seconds(home)
    return Row(n=n, agencies=len(agencies), signed=args.sign, zipped=args.zip, seconds=round(seconds, 2),
               records_per_s=round(n / seconds, 1), peak_rss_mb=round(peak * 1024 / 1e6, 1),
               tree_rss_mb=round(tree * 1024 / 1e6, 1), processes=procs, cpu_seconds=round(cpu, 1),
               cpu_ms_per_record=round(cpu * 1000 / n, 2), load_average=round(load, 2),
               second_seconds=round(second, 2),
               packaged=packaged, ingest_seconds=round(steps.get("ingest", 0.0), 2),
               package_seconds=round(steps.get("package", 0.0), 2))


def _step_seconds(home: Path) -> dict[str, float]:
    """Seconds per step of the first nightly run, summed over the agencies (from its run log)."""
    logs = sorted((home / "logs").glob("nightly-*.json"), key=lambda p: p.stat().st_mtime)
    out: dict[str, float] = {}
    if logs:
        for agency in json.loads(logs[0].read_text(encoding="utf-8")).get("agencies", []):
            for step in agency.get("steps", []):
                out[step["step"]] = out.get(step["step"], 0.0) + float(step.get("seconds") or 0.0)
    return out


def repeated(args: argparse.Namespace, n: int, agencies: list[tuple[str, str, str, str, str]],
             env: dict[str, str]) -> Row:
    """:func:`bench_one` ``--repeat`` times: the median run, with the min and max seconds and the
    largest peaks of them all."""
    import statistics

    runs = sorted((bench_one(args, n, agencies, env) for _ in range(max(1, args.repeat))), key=lambda r: r.seconds)
    mid = runs[(len(runs) - 1) // 2]
    return Row(**{**asdict(mid), "seconds": round(statistics.median(r.seconds for r in runs), 2),
                  "records_per_s": round(n / statistics.median(r.seconds for r in runs), 1),
                  "peak_rss_mb": max(r.peak_rss_mb for r in runs), "tree_rss_mb": max(r.tree_rss_mb for r in runs),
                  "repeats": len(runs), "seconds_min": runs[0].seconds, "seconds_max": runs[-1].seconds})


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "cpu": cpu, "python": platform.python_version(), "system": f"{platform.system()} {platform.release()}"}


def main() -> None:
    args = parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    agencies = agency_list(args.agencies)
    env = dict(os.environ, GOVARC_KEY_PASSPHRASE=PASSPHRASE)
    env.pop("GOVARC_HOME", None)
    rows = [repeated(args, n, agencies, env) for n in args.n]
    shutil.rmtree(args.out / ".trash", ignore_errors=True)
    facts = machine()
    if args.json:
        print(json.dumps({"machine": facts, "rows": [asdict(r) for r in rows]}, ensure_ascii=False, indent=2))
        return
    print(f"govarc nightly: {args.agencies} agencies, one-page PDF + JSON sidecar per record, "
          f"{'signed' if args.sign else 'unsigned'}, {'zip' if args.zip else 'folder'} packages")
    print(f"machine: {facts['cores']} cores ({facts['cpu']}), Python {facts['python']}, {facts['system']}")
    header = (f"{'N':>7} {'seconds':>9} {'min-max s':>13} {'records/s':>10} {'peak RSS MB':>12} {'tree RSS MB':>12} {'procs':>6} "
              f"{'CPU s':>7} {'CPU ms/rec':>10} {'ingest s':>9} {'package s':>10} {'2nd run s':>10} {'load':>5}")
    print(header)
    for r in rows:
        spread = f"{r.seconds_min:.1f}-{r.seconds_max:.1f}"
        print(f"{r.n:>7} {r.seconds:>9.2f} {spread:>13} {r.records_per_s:>10.1f} {r.peak_rss_mb:>12.1f} {r.tree_rss_mb:>12.1f} "
              f"{r.processes:>6} {r.cpu_seconds:>7.1f} {r.cpu_ms_per_record:>10.2f} {r.ingest_seconds:>9.2f} "
              f"{r.package_seconds:>10.2f} {r.second_seconds:>10.2f} {r.load_average:>5.1f}")
    print(f"seconds: median of {args.repeat} run(s), each in a fresh workspace; "
          "peak RSS: the largest single process of the job; tree RSS: the most all its processes held at once "
          "(sampled every 0.1 s); CPU s: user + system time of all of them (CPU ms/rec: per record); ingest s, "
          "package s: the first run's steps, from its run log; load: the 1-minute load average as the first run "
          "ended (the job itself accounts for up to one per core; more means other work shared the cores)")


if __name__ == "__main__":
    main()
