#!/usr/bin/env python3
"""Time `govarc transfer run` over folder, SFTP and S3 against the raw clients, and `govarc accept` against `govarc verify`.

One run builds (or reuses) an agency workspace with two sets of real signed packages made by
`govarc nightly` — SZF: N one-page documents; CZJ: M large documents (a one-page PDF carrying a
scanned-size image of seeded random bytes, so no two packages are alike) — and an archives
workspace (its own key from the same local CA). Then, for each transport and set, alternately:

- `govarc transfer run --agency CODE` into an empty destination (packages, signed list last);
- the same package files moved by the plain client without govarc: `cp -a` (folder), paramiko
  `SFTPClient.put` over one connection (SFTP), boto3 `upload_file` with its default transfer
  settings (S3), each as a subprocess, like govarc;

and, for each set, `govarc accept` of the folder-delivered batch (checks, countersigns, stores,
publishes a signed receipt) against `govarc verify` of the same packages. SFTP runs against a real
OpenSSH sshd and S3 against a real SeaweedFS, both started on loopback with the test helpers
(`tests/servers/sshd.py`, `tests/servers/seaweed.py`) and stopped by process id. Seconds are
wall time, the median of `--repeat` runs; MB is 10^6 bytes; ratio = govarc / baseline.

    .venv/bin/python bench/transfer_bench.py                          # 2,000 one-page + 20 x 50 MB, 3 repeats
    .venv/bin/python bench/transfer_bench.py --small 500 --large 6 --large-mb 20 --repeat 3
    .venv/bin/python bench/transfer_bench.py --quick --json
    .venv/bin/python bench/transfer_bench.py --small 20 --large 3 --transports sftp --no-accept --repeat 1 --profile bench/out/profiles

With ``--profile DIR``, one extra (untimed) `govarc transfer run` per transport and set runs under
``py-spy record --threads`` first, its raw samples in ``DIR/transfer-<transport>-<agency>.txt``
(summarise with ``bench/profile_summary.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
PASSPHRASE = "bench-only-passphrase"
CORPUS_VERSION = "2"  # bump when the generated documents change, so cached workspaces are rebuilt
SMALL, LARGE, ARCHIVES = "SZF", "CZJ", "DAG"
BUCKET = "govarc-bench"
TRANSFER_TARGET, ACCEPT_TARGET = 1.3, 1.5

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from bench_servers import Servers  # noqa: E402  (bench/ is on the path only from here)


@dataclass
class Row:
    what: str  # "transfer" or "accept"
    transport: str  # folder, sftp, s3 (accept: folder)
    set: str  # "N x one-page" or "M x L MB"
    packages: int
    mb: float
    govarc_s: float
    baseline: str
    baseline_s: float
    govarc_mb_s: float
    baseline_mb_s: float
    ratio: float  # median of the per-repeat ratios
    target: float
    govarc_runs: list[float]
    baseline_runs: list[float]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--small", type=int, default=2000, help="one-page packages (default 2000)")
    p.add_argument("--large", type=int, default=20, help="large packages (default 20)")
    p.add_argument("--large-mb", type=int, default=50, help="size of each large document in MB (default 50)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each command; the median is shown (default 3)")
    p.add_argument("--transports", nargs="+", default=["folder", "sftp", "s3"], choices=["folder", "sftp", "s3"])
    p.add_argument("--no-accept", action="store_true", help="skip accept against verify")
    p.add_argument("--quick", action="store_true", help="a small run: 100 one-page + 2 x 8 MB, 1 repeat")
    p.add_argument("--out", type=Path, default=HERE / "out" / "transfer", help="work folder (default bench/out/transfer)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    p.add_argument("--profile", type=Path, metavar="DIR",
                   help="first run one untimed transfer per transport and set under py-spy, samples into DIR")
    args = p.parse_args()
    if args.quick:
        args.small, args.large, args.large_mb, args.repeat = 100, 2, 8, 1
    if args.small < 1 or args.large < 0 or args.large_mb < 1 or args.repeat < 1:
        p.error("--small and --repeat must be at least 1, --large at least 0, --large-mb at least 1")
    return args


def log(args: argparse.Namespace, text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


# --- the corpus and the workspaces ---------------------------------------------------------------


def _pdf_object(n: int, body: bytes) -> bytes:
    return b"%d 0 obj\n" % n + body + b"\nendobj\n"


def large_pdf(path: Path, nbytes: int, seed: int) -> None:
    """A valid one-page PDF whose page shows one uncompressed RGB image of seeded random bytes (a scan's size)."""
    side = max(16, int((nbytes / 3) ** 0.5))
    # no "/" in the pixels: accept's active-content check (4-1) scans raw bytes for names such as /JS,
    # which 50 MB of random bytes hold by chance a few times
    pixels = random.Random(seed).randbytes(side * side * 3).replace(b"/", b"0")
    content = b"q 495 0 0 495 50 200 cm /Im0 Do Q"
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 "
        b"/Length %d >>\nstream\n" % (side, side, len(pixels)) + pixels + b"\nendstream",
    ]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for i, body in enumerate(bodies, 1):
            offsets.append(f.tell())
            f.write(_pdf_object(i, body))
        xref = f.tell()
        f.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1))
        for off in offsets:
            f.write(b"%010d 00000 n \n" % off)
        f.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref))
    os.replace(tmp, path)


def _make_large(args: tuple[str, list[int], int]) -> int:
    folder, numbers, nbytes = args
    base = Path(folder)
    base.mkdir(parents=True, exist_ok=True)
    for i in numbers:
        number = f"柳财发〔2024〕{i}号"
        large_pdf(base / f"{number}.pdf", nbytes, seed=i)
        meta = {"题名": f"柳州市财政局关于第{i}批项目图纸扫描件归档的通知", "责任者": "柳州市财政局", "保管期限": "Y",
                "密级": "公开", "主题词": ["财政预算", "通知"], "日期": f"2024年{i % 12 + 1}月{i % 28 + 1}日",
                "文件编号": number}
        (base / f"{number}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return len(numbers)


def govarc(home: Path, env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> str:
    r = subprocess.run([str(BIN / "govarc"), "--home", str(home), *args], env=env, capture_output=True, text=True)
    if r.returncode not in ok:
        sys.exit(f"govarc {' '.join(args)} failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return r.stdout


def make_workspaces(args: argparse.Namespace, env: dict[str, str]) -> Path:
    """The agency home (packages built and signed) and the archives home, reused while complete."""
    from concurrent.futures import ProcessPoolExecutor

    from nightly_bench import _make_docs, mark_complete, reusable

    tag = f"ws-s{args.small}-l{args.large}x{args.large_mb}-v{CORPUS_VERSION}"
    root = args.out / tag
    if reusable(root):
        return root
    started = time.monotonic()
    drop = root / "drop"
    jobs_small = [(str(drop / SMALL / f"{k // 1000:03d}"), "柳州市人民政府办公室", "柳政发",
                   list(range(k + 1, min(k + 250, args.small) + 1))) for k in range(0, args.small, 250)]
    per = max(1, args.large // (os.cpu_count() or 1))
    jobs_large = [(str(drop / LARGE), list(range(k + 1, min(k + per, args.large) + 1)), args.large_mb * 10**6)
                  for k in range(0, args.large, per)]
    (drop / LARGE).mkdir(parents=True)
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        made = sum(pool.map(_make_docs, jobs_small)) + sum(pool.map(_make_large, jobs_large))
    assert made == args.small + args.large, made
    (root / "city.toml").write_text("\n".join([
        "[[agency]]", f'code = "{SMALL}"', 'name = "柳州市人民政府办公室"', 'fonds = "0012"', 'unit = "BGS"',
        f'drop = "drop/{SMALL}"', "",
        "[[agency]]", f'code = "{LARGE}"', 'name = "柳州市财政局"', 'fonds = "0035"', 'unit = "CWK"',
        f'drop = "drop/{LARGE}"', ""]), encoding="utf-8")
    home = root / "agency"
    govarc(home, env, "init", "--config", str(root / "city.toml"))
    cfg = home / "govarc.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("zip = false", "zip = true"), encoding="utf-8")
    govarc(home, env, "pki", "init-ca", "--name", "柳州市档案馆 测试CA (bench only)")
    for code in (SMALL, LARGE):
        govarc(home, env, "pki", "issue", code)
    from govarc.sign.pki import issue_agency, load_ca  # the archives' key, from the same local CA

    keys = root / "archives-keys"
    issue_agency(load_ca(home / "pki", PASSPHRASE.encode()), keys, ARCHIVES, "柳州市档案馆", PASSPHRASE.encode())
    log(args, f"corpus made in {time.monotonic() - started:.1f} s; packaging with govarc nightly")
    govarc(home, env, "nightly")
    for code, n in ((SMALL, args.small), (LARGE, args.large)):
        found = len(package_files(home, code))
        if found != n:
            sys.exit(f"expected {n} packages of {code} in {home / 'store' / code}, found {found}")
    archives = root / "archives"
    govarc(archives, env, "init", "--archives", ARCHIVES, "--name", "柳州市档案馆")
    pw = root / "passphrase"
    pw.write_text(PASSPHRASE, encoding="utf-8")
    pw.chmod(0o600)
    govarc(archives, env, "pki", "import", ARCHIVES, "--cert", str(keys / "cert.pem"), "--key", str(keys / "key.pem"),
           "--chain", str(keys / "chain.pem"), "--source-passphrase-file", str(pw))
    govarc(archives, env, "pki", "trust", "add", str(home / "pki" / "ca.pem"))
    shutil.rmtree(drop / LARGE)  # the packages hold the large documents; the drop copies are not needed again
    mark_complete(root, f"made in {time.monotonic() - started:.1f} s\n")
    log(args, f"workspaces ready in {time.monotonic() - started:.1f} s ({root})")
    return root


def package_files(home: Path, code: str) -> list[Path]:
    return sorted(p for p in (home / "store" / code).iterdir() if p.name.endswith(".zip") and not p.name.startswith("."))


def fresh_home(golden: Path, dest: Path, archives: dict[str, Any] | None = None) -> Path:
    """A copy of ``golden`` (the store hard-linked: nothing writes into it) with ``[archives]`` appended."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for entry in golden.iterdir():
        if entry.name == "store":
            subprocess.run(["cp", "-al", str(entry), str(dest / "store")], check=True)
        elif entry.is_dir():
            shutil.copytree(entry, dest / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, dest / entry.name)
    if archives is not None:
        lines = ["", "[archives]", f'code = "{ARCHIVES}"', 'name = "柳州市档案馆"', f"url = {json.dumps(archives['url'])}"]
        if archives.get("options"):
            lines.append("[archives.transport]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in archives["options"].items()]
        cfg = dest / "govarc.toml"
        head, sep, rest = cfg.read_text(encoding="utf-8").partition("[[agency]]")
        cfg.write_text(head + "\n".join(lines) + "\n\n" + sep + rest, encoding="utf-8")
    return dest


def timed(cmd: list[str], env: dict[str, str], what: str) -> float:
    started = time.monotonic()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if r.returncode != 0:
        sys.exit(f"{what} failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return seconds


# --- the raw clients (run as subprocesses of this file) -------------------------------------------


def raw_main(argv: list[str]) -> None:
    """``_raw sftp|s3 SPEC.json``: move the listed files with the plain client, nothing else."""
    kind, spec_file = argv
    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    files = [Path(f) for f in spec["files"]]
    if kind == "sftp":
        import paramiko

        client = paramiko.SSHClient()
        client.load_host_keys(spec["known_hosts"])
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(spec["host"], port=spec["port"], username=spec["user"], key_filename=spec["identity_file"],
                       allow_agent=False, look_for_keys=False)
        sftp = client.open_sftp()
        sftp.mkdir(spec["dest"])
        for f in files:
            sftp.put(str(f), f"{spec['dest']}/{f.name}")
        sftp.close()
        client.close()
    elif kind == "s3":
        import boto3
        from botocore.config import Config

        s3 = boto3.client("s3", endpoint_url=spec["endpoint_url"], config=Config(s3={"addressing_style": "path"}))
        for f in files:
            s3.upload_file(str(f), spec["bucket"], f"{spec['prefix']}/{f.name}")
    else:
        sys.exit(f"unknown raw client {kind}")


# --- the servers ----------------------------------------------------------------------------------


# --- one comparison -------------------------------------------------------------------------------


class Runner:
    def __init__(self, args: argparse.Namespace, ws: Path, env: dict[str, str], servers: Servers) -> None:
        self.args, self.ws, self.env, self.servers = args, ws, env, servers
        self.runs = args.out / "runs"
        shutil.rmtree(self.runs, ignore_errors=True)
        self.runs.mkdir(parents=True)
        self.count = 0
        self.delivered: dict[str, Path] = {}  # agency -> a folder where govarc delivered its batch

    def _next(self) -> int:
        self.count += 1
        return self.count

    def _target(self, transport: str, n: int) -> tuple[dict[str, Any], dict[str, str], Any]:
        """``[archives]`` for govarc, the environment, and where the raw client writes (plus a cleaner)."""
        if transport == "folder":
            dest = self.runs / f"dest-{n}"
            dest.mkdir()
            return {"url": dest.as_uri()}, self.env, dest
        if transport == "sftp":
            sshd = self.servers.start_sshd()
            dest = self.runs / f"sftp-{n}"
            dest.mkdir()
            return ({"url": sshd.url(dest), "options": {"identity_file": str(sshd.client_key),
                                                        "known_hosts": str(sshd.known_hosts)}}, self.env, dest)
        weed = self.servers.start_seaweed()
        env = {**self.env, **weed.env(), "AWS_CONFIG_FILE": "/nonexistent/bench-aws-config",
               "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/bench-aws-credentials"}
        env.pop("AWS_PROFILE", None)
        return ({"url": f"s3://{BUCKET}/run-{n}", "options": {"endpoint_url": weed.endpoint_url}}, env, f"run-{n}")

    def _clean(self, transport: str, dest: Any) -> None:
        if transport == "s3":
            client = self.servers.seaweed.shared_client()
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{dest}/"):
                for obj in page.get("Contents", []):
                    client.delete_object(Bucket=BUCKET, Key=obj["Key"])
        else:
            shutil.rmtree(dest, ignore_errors=True)

    def govarc_transfer(self, transport: str, code: str, keep: bool, profile: Path | None = None) -> float:
        n = self._next()
        archives, env, dest = self._target(transport, n)
        home = fresh_home(self.ws / "agency", self.runs / "home", archives)
        subprocess.run(["sync"], check=False)
        command = [str(BIN / "govarc"), "--home", str(home), "transfer", "run", "--agency", code]
        if profile is not None:  # py-spy samples every thread (the transport's included) of the run
            profile.parent.mkdir(parents=True, exist_ok=True)
            command = [str(BIN / "py-spy"), "record", "--threads", "-r", "200", "-f", "raw", "-o", str(profile),
                       "--", *command]
        seconds = timed(command, env, f"govarc transfer run over {transport}")
        report = json.loads(govarc(home, env, "transfer", "status", "--agency", code, "--json"))
        states = [b["state"] for a in report for b in a["batches"]]
        if states != ["published"]:
            sys.exit(f"transfer over {transport}: expected one published batch, got {states}")
        if keep and transport == "folder":
            self.delivered[code] = dest
        else:
            self._clean(transport, dest)
        return seconds

    def raw_transfer(self, transport: str, code: str) -> float:
        n = self._next()
        files = package_files(self.ws / "agency", code)
        _, env, dest = self._target(transport, n)
        subprocess.run(["sync"], check=False)
        if transport == "folder":
            seconds = timed(["cp", "-a", *map(str, files), str(dest)], env, "cp -a")
        else:
            spec: dict[str, Any] = {"files": [str(f) for f in files]}
            if transport == "sftp":
                sshd = self.servers.sshd
                dest = dest / "packages"
                spec.update(host=sshd.host, port=sshd.port, user=sshd.user, identity_file=str(sshd.client_key),
                            known_hosts=str(sshd.known_hosts), dest=str(dest))
            else:
                spec.update(endpoint_url=self.servers.seaweed.endpoint_url, bucket=BUCKET, prefix=dest)
            spec_file = self.runs / f"raw-{n}.json"
            spec_file.write_text(json.dumps(spec), encoding="utf-8")
            seconds = timed([sys.executable, str(Path(__file__).resolve()), "_raw", transport, str(spec_file)], env,
                            f"raw {transport} client")
            if transport == "sftp":
                dest = dest.parent
        if transport in ("folder", "sftp"):
            copied = sorted(p.name for p in Path(dest).rglob("*.zip"))
            if copied != [f.name for f in files]:
                sys.exit(f"raw {transport}: {len(copied)} of {len(files)} files arrived")
        self._clean(transport, dest)
        return seconds

    def accept_once(self, code: str) -> float:
        n = self._next()
        home = fresh_home(self.ws / "archives", self.runs / f"archives-{n}")
        subprocess.run(["sync"], check=False)
        seconds = timed([str(BIN / "govarc"), "--home", str(home), "accept", "--from", self.delivered[code].as_uri()],
                        self.env, "govarc accept")
        held = sum(1 for _ in (home / "holdings").rglob("*.zip"))
        expected = len(package_files(self.ws / "agency", code))
        if held != expected:
            sys.exit(f"accept: {held} of {expected} packages of {code} accepted; see {home}")
        # the receipt is published beside the batches: remove it so the next accept answers the batch again
        shutil.rmtree(self.delivered[code] / "receipts", ignore_errors=True)
        shutil.rmtree(home)
        return seconds

    def verify_once(self, code: str) -> float:
        files = package_files(self.ws / "agency", code)
        return timed([str(BIN / "govarc"), "--home", str(self.ws / "agency"), "--quiet", "verify", *map(str, files)],
                     self.env, "govarc verify")


def row(what: str, transport: str, label: str, files: list[Path], baseline: str, target: float,
        ours: list[float], theirs: list[float]) -> Row:
    mb = sum(f.stat().st_size for f in files) / 1e6
    g, b = statistics.median(ours), statistics.median(theirs)
    ratio = statistics.median(o / t for o, t in zip(ours, theirs))
    return Row(what, transport, label, len(files), round(mb, 1), round(g, 2), baseline, round(b, 2),
               round(mb / g, 1), round(mb / b, 1), round(ratio, 2), target, [round(x, 3) for x in ours],
               [round(x, 3) for x in theirs])


BASELINES = {"folder": "cp -a", "sftp": "paramiko SFTPClient.put", "s3": "boto3 upload_file"}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_raw":
        raw_main(sys.argv[2:])
        return
    args = parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOVARC_KEY_PASSPHRASE=PASSPHRASE)
    env.pop("GOVARC_HOME", None)
    ws = make_workspaces(args, env)
    sets = [(SMALL, f"{args.small} x one-page")]
    if args.large:
        sets.append((LARGE, f"{args.large} x {args.large_mb} MB"))
    servers = Servers(args.out, BUCKET)
    rows: list[Row] = []
    load = os.getloadavg()[0]
    try:
        runner = Runner(args, ws, env, servers)
        for transport in args.transports:
            for code, label in sets:
                ours, theirs = [], []
                if args.profile is not None:
                    out = args.profile.resolve() / f"transfer-{transport}-{code}.txt"
                    log(args, f"{transport} {label}: profiling one run into {out}")
                    runner.govarc_transfer(transport, code, keep=False, profile=out)
                for i in range(args.repeat):
                    log(args, f"{transport} {label}: run {i + 1} of {args.repeat}")
                    keep = transport == "folder" and i == args.repeat - 1
                    if i % 2 == 0:  # alternate which goes first, so a drifting machine favours neither
                        ours.append(runner.govarc_transfer(transport, code, keep))
                        theirs.append(runner.raw_transfer(transport, code))
                    else:
                        theirs.append(runner.raw_transfer(transport, code))
                        ours.append(runner.govarc_transfer(transport, code, keep))
                files = package_files(ws / "agency", code)
                rows.append(row("transfer run", transport, label, files, BASELINES[transport], TRANSFER_TARGET,
                                ours, theirs))
        if not args.no_accept:
            if "folder" not in args.transports:
                for code, _ in sets:
                    runner.govarc_transfer("folder", code, keep=True)
            for code, label in sets:
                ours, theirs = [], []
                for i in range(args.repeat):
                    log(args, f"accept {label}: run {i + 1} of {args.repeat}")
                    if i % 2 == 0:
                        ours.append(runner.accept_once(code))
                        theirs.append(runner.verify_once(code))
                    else:
                        theirs.append(runner.verify_once(code))
                        ours.append(runner.accept_once(code))
                rows.append(row("accept", "folder", label, package_files(ws / "agency", code), "govarc verify",
                                ACCEPT_TARGET, ours, theirs))
    finally:
        servers.stop()
    shutil.rmtree(args.out / "runs", ignore_errors=True)
    from nightly_bench import machine

    facts = {**machine(), "load_at_start": round(load, 2), "load_at_end": round(os.getloadavg()[0], 2),
             "repeat": args.repeat}
    if args.json:
        print(json.dumps({"machine": facts, "rows": [asdict(r) for r in rows]}, ensure_ascii=False, indent=2))
        return
    print(f"govarc transfer and accept: median of {args.repeat} run(s); machine: {facts['cores']} cores "
          f"({facts['cpu']}), Python {facts['python']}, load {facts['load_at_start']} -> {facts['load_at_end']}")
    header = (f"{'command':<13} {'transport':<9} {'packages':<18} {'MB':>8} {'govarc s':>9} {'MB/s':>7} "
              f"{'baseline':<24} {'s':>7} {'MB/s':>7} {'ratio':>6} {'target':>7}")
    print(header)
    for r in rows:
        mark = "" if r.ratio <= r.target else " missed"
        print(f"{r.what:<13} {r.transport:<9} {r.set:<18} {r.mb:>8.1f} {r.govarc_s:>9.2f} {r.govarc_mb_s:>7.1f} "
              f"{r.baseline:<24} {r.baseline_s:>7.2f} {r.baseline_mb_s:>7.1f} {r.ratio:>6.2f} {'≤ ' + str(r.target):>7}"
              f"{mark}")


if __name__ == "__main__":
    main()
