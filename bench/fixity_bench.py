#!/usr/bin/env python3
"""Time a fixity audit (`govarc verify --store`) of thousands of small signed packages against the raw tools.

One run builds (or reuses) an agency workspace whose store holds N real signed one-page packages
made by `govarc nightly` (as `bench/transfer_bench.py` builds its workspace), then times, each as
a subprocess, with min/median/max over `--repeat` runs:

- `govarc verify --store` (every check: structure, manifests and every digest, metadata against
  the XSD, signature, chain to the trust anchor, revocation, agency identity), and the same with
  `--jobs 1` (one process);
- `openssl cms -verify` of each package's signature over its tag manifest against the same CA,
  one openssl process per package (the honest raw reference: what a shell audit would do), run
  on all cores with `xargs -P`; the packages are unzipped once beforehand, outside the timing;
- `sha256sum` of all the packages' files (the bytes hashed, nothing checked).

Packages/s and the peak RSS of each tool's largest process (GNU time when installed) are printed.

    .venv/bin/python bench/fixity_bench.py                      # 2,000 packages, 3 repeats (make bench)
    .venv/bin/python bench/fixity_bench.py --packages 10000 --repeat 5 --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
PASSPHRASE = "bench-only-passphrase"
CORPUS_VERSION = "1"
AGENCY = "SZF"
TARGET = 2000.0  # packages/s on 2 cores

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--packages", type=int, default=2000, help="signed one-page packages (default 2000)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each command (default 3)")
    p.add_argument("--out", type=Path, default=HERE / "out" / "fixity", help="work folder (default bench/out/fixity)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = p.parse_args()
    if args.packages < 1 or args.repeat < 1:
        p.error("--packages and --repeat must be at least 1")
    return args


def log(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


def govarc(home: Path, env: dict[str, str], *args: str) -> str:
    r = subprocess.run([str(BIN / "govarc"), "--home", str(home), *args], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"govarc {' '.join(args)} failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return r.stdout


def make_workspace(args: argparse.Namespace, env: dict[str, str]) -> Path:
    """An agency home whose store holds ``args.packages`` signed .zip packages; reused while complete."""
    from concurrent.futures import ProcessPoolExecutor

    from nightly_bench import _make_docs, mark_complete, reusable

    root = args.out / f"ws-{args.packages}-v{CORPUS_VERSION}"
    if reusable(root):
        return root
    started = time.monotonic()
    drop = root / "drop"
    jobs = [(str(drop / AGENCY / f"{k // 1000:03d}"), "柳州市人民政府办公室", "柳政发",
             list(range(k + 1, min(k + 250, args.packages) + 1))) for k in range(0, args.packages, 250)]
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        made = sum(pool.map(_make_docs, jobs))
    assert made == args.packages, made
    (root / "city.toml").write_text("\n".join([
        "[[agency]]", f'code = "{AGENCY}"', 'name = "柳州市人民政府办公室"', 'fonds = "0012"', 'unit = "BGS"',
        f'drop = "drop/{AGENCY}"', ""]), encoding="utf-8")
    home = root / "agency"
    govarc(home, env, "init", "--config", str(root / "city.toml"))
    cfg = home / "govarc.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("zip = false", "zip = true"), encoding="utf-8")
    govarc(home, env, "pki", "init-ca", "--name", "柳州市档案馆 测试CA (bench only)")
    govarc(home, env, "pki", "issue", AGENCY)
    log(f"corpus made in {time.monotonic() - started:.1f} s; packaging with govarc nightly")
    govarc(home, env, "nightly")
    found = len(packages(root))
    if found != args.packages:
        sys.exit(f"expected {args.packages} packages in {home / 'store' / AGENCY}, found {found}")
    shutil.rmtree(drop)
    mark_complete(root, f"made in {time.monotonic() - started:.1f} s\n")
    log(f"workspace ready in {time.monotonic() - started:.1f} s ({root})")
    return root


def packages(root: Path) -> list[Path]:
    store = root / "agency" / "store" / AGENCY
    return sorted(p for p in store.iterdir() if p.name.endswith(".zip") and not p.name.startswith("."))


def unzip_all(root: Path, pkgs: list[Path]) -> Path:
    """The packages unzipped once (for openssl and sha256sum, which cannot read a zip), reused."""
    dest = root / "unzipped"
    if (dest / ".complete").is_file():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir()
    for p in pkgs:
        with zipfile.ZipFile(p) as z:
            z.extractall(dest)
    (dest / ".complete").write_text("", encoding="utf-8")
    return dest


def gnu_time() -> str | None:
    return "/usr/bin/time" if Path("/usr/bin/time").is_file() else None


def run(cmd: list[str], env: dict[str, str], what: str) -> tuple[float, float, float]:
    """Seconds, peak RSS (MB of the largest process, 0 when GNU time is missing) and CPU seconds
    (user + system of every process of the run) of one run."""
    timer = gnu_time()
    rss_file = None
    if timer:
        rss_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"fixity-bench-{os.getpid()}.rss"
        cmd = [timer, "-f", "%M", "-o", str(rss_file), *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if r.returncode != 0:
        sys.exit(f"{what} failed ({r.returncode}):\n{r.stderr.decode(errors='replace')[-2000:]}")
    rss = 0.0
    if rss_file is not None:
        try:
            rss = int(rss_file.read_text().split()[-1]) / 1024
        finally:
            rss_file.unlink(missing_ok=True)
    return seconds, rss, cpu


def main() -> int:
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOVARC_KEY_PASSPHRASE=PASSPHRASE)
    env.pop("COLUMNS", None)
    root = make_workspace(args, env)
    home = root / "agency"
    pkgs = packages(root)
    flat = unzip_all(root, pkgs)
    bags = sorted(p for p in flat.iterdir() if p.is_dir())
    files = [str(f) for b in bags for f in sorted(b.rglob("*")) if f.is_file()]
    ca = home / "pki" / "ca.pem"
    list_file = root / "bags.txt"
    list_file.write_text("".join(f"{b}\0" for b in bags), encoding="utf-8")
    files_file = root / "files.txt"
    files_file.write_text("".join(f"{f}\0" for f in files), encoding="utf-8")
    cores = str(os.cpu_count() or 1)
    # openssl: one process per package, the signature over its tag manifest, chain to the CA;
    # -purpose any: the agency certificate is a signing certificate, not an S/MIME one.
    openssl = ["sh", "-c", f"xargs -0 -P {cores} -I@ openssl cms -verify -binary -inform DER -purpose any "
               f"-in @/signatures/{AGENCY}.p7s -content @/tagmanifest-sha256.txt -CAfile {ca} -out /dev/null "
               f"< {list_file}"]
    sha = ["sh", "-c", f"xargs -0 -n 500 -P {cores} sha256sum < {files_file}"]
    plan = [
        ("govarc verify --store", [str(BIN / "govarc"), "--home", str(home), "--quiet", "verify", "--store", "--no-progress"]),
        ("govarc verify --store --jobs 1",
         [str(BIN / "govarc"), "--home", str(home), "--quiet", "verify", "--store", "--no-progress", "--jobs", "1"]),
        (f"openssl cms -verify (1 process per package, -P {cores})", openssl),
        (f"sha256sum of all files (-P {cores})", sha),
    ]
    for _ in range(1):  # warm the page cache and check every command succeeds
        for what, cmd in plan:
            run(cmd, env, what)
    times: dict[str, list[float]] = {what: [] for what, _ in plan}
    rss: dict[str, float] = {what: 0.0 for what, _ in plan}
    cpus: dict[str, list[float]] = {what: [] for what, _ in plan}
    for _ in range(args.repeat):
        for what, cmd in plan:
            s, m, c = run(cmd, env, what)
            times[what].append(s)
            cpus[what].append(c)
            rss[what] = max(rss[what], m)
    n = len(pkgs)
    rows = [{"tool": what, "min_s": min(t), "median_s": statistics.median(t), "max_s": max(t),
             "packages_per_s": n / statistics.median(t), "peak_rss_mb": rss[what], "runs": t,
             # CPU per package (every process of the run, start-up and listing included), and the
             # rate it allows when every core does nothing else: the figure a busy machine cannot blur
             "cpu_ms_per_package": 1000 * statistics.median(cpus[what]) / n,
             "cpu_bound_packages_per_s": (os.cpu_count() or 1) * n / statistics.median(cpus[what])}
            for what, t in times.items()]
    rate = rows[0]["packages_per_s"]
    result = {"packages": n, "files": len(files), "bytes": sum(p.stat().st_size for p in pkgs), "cpus": os.cpu_count(),
              "rows": rows, "target_packages_per_s": TARGET, "target_met": rate >= TARGET}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"fixity audit of {n} signed one-page packages ({len(files)} files, {result['bytes'] / 1e6:.1f} MB zipped), "
          f"{os.cpu_count()} cores, {args.repeat} repeats")
    print(f"load average {os.getloadavg()[0]:.2f}; CPU ms/pkg: user+system of every process of a run (median) "
          f"per package; CPU-bound pkg/s: {os.cpu_count()} cores / that CPU time")
    print(f"{'tool':<52} {'min s':>7} {'median':>7} {'max s':>7} {'pkg/s':>8} {'RSS MB':>7} {'CPU ms/pkg':>10} "
          f"{'CPU-bound pkg/s':>15}")
    for r in rows:
        print(f"{r['tool']:<52} {r['min_s']:>7.2f} {r['median_s']:>7.2f} {r['max_s']:>7.2f} "
              f"{r['packages_per_s']:>8.0f} {r['peak_rss_mb']:>7.0f} {r['cpu_ms_per_package']:>10.3f} "
              f"{r['cpu_bound_packages_per_s']:>15.0f}")
    print(f"target: govarc verify --store >= {TARGET:.0f} packages/s: {'met' if result['target_met'] else 'NOT met'} "
          f"({rate:.0f}/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
