#!/usr/bin/env python3
"""Time `govarc send` of one package to 130 agencies and `govarc receive` by each, over folder, SFTP and S3.

One run builds (or reuses) a city in one workspace: the sender SZF (a key from a local CA) and N
recipient agencies (default 130) listed in one distribution group of ``[exchange.groups]``. SZF's
one document is a one-page PDF carrying a scan-sized image (``--mb``, default 10 MB) of seeded
random bytes; `govarc ingest` and `govarc package` make it a real signed package (``.zip``). Then,
for each transport, into an empty hub:

- `govarc send PACKAGE --agency SZF --to GROUP` (one package object, N signed envelopes), against
  the same package uploaded ONCE by the plain client without govarc: `cp` (folder), paramiko
  `SFTPClient.put` (SFTP), boto3 `upload_file` (S3), each a subprocess like govarc; and, as a
  second reference, the plain client writing the same objects govarc wrote (package + N envelopes
  + N signatures);
- the bytes on the hub after the send (the sum of the object sizes, and anything else left there:
  partial files, unfinished multipart uploads), against the package plus the envelopes
  (target: within 1.05x);
- receiving: `govarc receive --agency R001` alone (a process for one agency, as an installation
  per agency runs it), then one `govarc receive` for all the other agencies of the workspace:
  seconds per agency, against the plain client downloading the package N times.

SFTP runs against a real OpenSSH sshd and S3 against a real SeaweedFS, both on loopback with the
test helpers (``tests/servers/``) and stopped by process id. Seconds are wall time; send figures
are the median of ``--repeat`` runs (receive runs once, after the last send); MB is 10^6 bytes.

    .venv/bin/python bench/exchange_bench.py                          # 10 MB to 130 agencies, 3 repeats
    .venv/bin/python bench/exchange_bench.py --transports folder s3 --repeat 1 --json
    .venv/bin/python bench/exchange_bench.py --quick                  # 2 MB to 20 agencies, once
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
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
CORPUS_VERSION = "1"  # bump when the generated city changes, so cached workspaces are rebuilt
SENDER = "SZF"
GROUP = "全市各委办局"
BUCKET = "govarc-xbench"
BYTES_TARGET = 1.05
BASELINES = {"folder": "cp", "sftp": "paramiko SFTPClient.put", "s3": "boto3 upload_file"}
DOWNLOADS = {"folder": "cp", "sftp": "paramiko SFTPClient.get", "s3": "boto3 download_file"}

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from bench_servers import Servers  # noqa: E402  (bench/ is on the path only from here)


@dataclass
class Row:
    transport: str
    recipients: int
    package_bytes: int
    envelope_bytes: int  # the N envelopes and their N signatures
    hub_bytes: int  # every object on the hub after the send (and anything else left there)
    hub_objects: int
    hub_other_bytes: int  # partials, unfinished multipart uploads, anything but the package and envelopes
    bytes_ratio: float  # hub_bytes / (package_bytes + envelope_bytes)
    bytes_ratio_package: float  # hub_bytes / package_bytes
    send_s: float
    upload_once: str
    upload_once_s: float
    send_ratio: float  # median of the per-repeat send / upload-once ratios
    same_objects_s: float  # the plain client writing the objects govarc wrote
    receive_one_s: float  # `govarc receive --agency R001`, one process
    receive_all_s: float  # one `govarc receive` for the other N-1 agencies
    receive_per_agency_s: float
    download: str
    download_all_s: float  # the plain client downloading the package N-1 times
    send_runs: list[float]
    upload_runs: list[float]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--recipients", type=int, default=130, help="recipient agencies in the group (default 130)")
    p.add_argument("--mb", type=int, default=10, help="size of the scanned document in MB (default 10)")
    p.add_argument("--repeat", type=int, default=3, help="sends per transport; the median is shown (default 3)")
    p.add_argument("--transports", nargs="+", default=["folder", "sftp", "s3"], choices=["folder", "sftp", "s3"])
    p.add_argument("--quick", action="store_true", help="a small run: 2 MB to 20 agencies, 1 repeat")
    p.add_argument("--out", type=Path, default=HERE / "out" / "exchange", help="work folder (default bench/out/exchange)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = p.parse_args()
    if args.quick:
        args.recipients, args.mb, args.repeat = 20, 2, 1
    if not 2 <= args.recipients <= 999 or args.mb < 1 or args.repeat < 1:
        p.error("--recipients must be 2 to 999, --mb and --repeat at least 1")
    return args


def log(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


def recipients(n: int) -> list[str]:
    return [f"R{i:03d}" for i in range(1, n + 1)]


# --- the city -------------------------------------------------------------------------------------


def make_city(args: argparse.Namespace, env: dict[str, str]) -> Path:
    """The workspace (SZF's signed package, N recipients), reused while complete."""
    from nightly_bench import mark_complete, reusable
    from transfer_bench import govarc, large_pdf

    root = args.out / f"city-r{args.recipients}-{args.mb}mb-v{CORPUS_VERSION}"
    if reusable(root):
        return root
    started = time.monotonic()
    drop = root / "drop" / SENDER
    drop.mkdir(parents=True)
    number = "柳政发〔2024〕88号"
    large_pdf(drop / f"{number}.pdf", args.mb * 10**6, seed=88)
    meta = {"题名": "柳州市人民政府关于印发城市更新项目图纸汇编的通知", "责任者": "柳州市人民政府办公室",
            "保管期限": "Y", "密级": "公开", "主题词": ["城市建设", "通知"], "日期": "2024年6月18日", "文件编号": number}
    (drop / f"{number}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    lines = ["[[agency]]", f'code = "{SENDER}"', 'name = "柳州市人民政府办公室"', 'fonds = "0012"', 'unit = "BGS"',
             f'drop = "drop/{SENDER}"', ""]
    for i, code in enumerate(recipients(args.recipients), 1):
        lines += ["[[agency]]", f'code = "{code}"', f'name = "柳州市第{i}委办局"', f'fonds = "{100 + i:04d}"', ""]
    (root / "city.toml").write_text("\n".join(lines), encoding="utf-8")
    home = root / "home"
    govarc(home, env, "init", "--config", str(root / "city.toml"))
    cfg = home / "govarc.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("zip = false", "zip = true"), encoding="utf-8")
    govarc(home, env, "pki", "init-ca", "--name", "柳州市 测试CA (bench only)")
    govarc(home, env, "pki", "issue", SENDER)
    govarc(home, env, "ingest", str(drop), "--agency", SENDER)
    govarc(home, env, "package", "--agency", SENDER)
    package(home)  # exactly one
    shutil.rmtree(root / "drop")  # the package holds the document
    mark_complete(root, f"made in {time.monotonic() - started:.1f} s\n")
    log(f"city ready in {time.monotonic() - started:.1f} s ({root})")
    return root


def package(home: Path) -> Path:
    found = [p for p in (home / "store" / SENDER).iterdir() if p.name.endswith(".zip") and not p.name.startswith(".")]
    if len(found) != 1:
        sys.exit(f"expected one package of {SENDER} in {home / 'store' / SENDER}, found {len(found)}")
    return found[0]


def fresh_home(golden: Path, dest: Path, hub: dict[str, Any], codes: list[str]) -> Path:
    """A copy of ``golden`` (the store hard-linked) with ``[exchange]`` naming ``hub`` and the group of ``codes``."""
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
    lines = ["", "[exchange]", f"url = {json.dumps(hub['url'])}"]
    if hub.get("options"):
        lines.append("[exchange.transport]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in hub["options"].items()]
    lines += ["[exchange.groups]", f"{json.dumps(GROUP, ensure_ascii=False)} = {json.dumps(codes)}"]
    cfg = dest / "govarc.toml"
    head, sep, rest = cfg.read_text(encoding="utf-8").partition("[[agency]]")
    cfg.write_text(head + "\n".join(lines) + "\n\n" + sep + rest, encoding="utf-8")
    return dest


def timed(cmd: list[str], env: dict[str, str], what: str) -> tuple[float, str]:
    started = time.monotonic()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if r.returncode != 0:
        sys.exit(f"{what} failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return seconds, r.stdout


# --- the plain clients (run as subprocesses of this file) -----------------------------------------


def raw_main(argv: list[str]) -> None:
    """``_raw put|get sftp|s3 SPEC.json``: move the listed files with the plain client, nothing else."""
    way, kind, spec_file = argv
    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    pairs = spec["pairs"]  # [local, remote] each
    if kind == "sftp":
        import paramiko

        client = paramiko.SSHClient()
        client.load_host_keys(spec["known_hosts"])
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(spec["host"], port=spec["port"], username=spec["user"], key_filename=spec["identity_file"],
                       allow_agent=False, look_for_keys=False)
        sftp = client.open_sftp()
        made: set[str] = set()
        for local, remote in pairs:
            if way == "put":
                parts = remote.split("/")
                for i in range(2, len(parts)):  # the folders on the way, once each
                    folder = "/".join(parts[:i])
                    if folder not in made and folder.startswith(spec["root"] + "/"):
                        try:
                            sftp.mkdir(folder)
                        except OSError:
                            pass
                        made.add(folder)
                sftp.put(local, remote)
            else:
                sftp.get(remote, local)
        sftp.close()
        client.close()
    elif kind == "s3":
        import boto3
        from botocore.config import Config

        s3 = boto3.client("s3", endpoint_url=spec["endpoint_url"], config=Config(s3={"addressing_style": "path"}))
        for local, remote in pairs:
            if way == "put":
                s3.upload_file(local, spec["bucket"], remote)
            else:
                s3.download_file(spec["bucket"], remote, local)
    else:
        sys.exit(f"unknown plain client {kind}")


# --- the servers ----------------------------------------------------------------------------------


# --- one transport --------------------------------------------------------------------------------


@dataclass
class HubBytes:
    package: int
    envelopes: int
    other: int
    objects: int
    unfinished_uploads: int

    @property
    def total(self) -> int:
        return self.package + self.envelopes + self.other


class Runner:
    def __init__(self, args: argparse.Namespace, city: Path, env: dict[str, str], servers: Servers) -> None:
        self.args, self.city, self.env, self.servers = args, city, env, servers
        self.runs = args.out / "runs"
        shutil.rmtree(self.runs, ignore_errors=True)
        self.runs.mkdir(parents=True)
        self.count = 0
        self.codes = recipients(args.recipients)
        self.package = package(city / "home")

    def _next(self) -> int:
        self.count += 1
        return self.count

    def hub(self, transport: str, n: int) -> tuple[dict[str, Any], dict[str, str], Any]:
        """``[exchange]`` for govarc, the environment, and where the hub is (a folder, or an S3 prefix)."""
        if transport == "folder":
            dest = self.runs / f"hub-{n}"
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
        return {"url": f"s3://{BUCKET}/run-{n}", "options": {"endpoint_url": weed.endpoint_url}}, env, f"run-{n}"

    def clean(self, transport: str, dest: Any) -> None:
        if transport == "s3":
            client = self.servers.seaweed.shared_client()
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{dest}/"):
                for obj in page.get("Contents", []):
                    client.delete_object(Bucket=BUCKET, Key=obj["Key"])
        else:
            shutil.rmtree(dest, ignore_errors=True)

    def objects(self, transport: str, dest: Any) -> dict[str, int]:
        """Every object on the hub (key relative to the hub) with its size; files of any kind in a folder."""
        if transport == "s3":
            client = self.servers.seaweed.shared_client()
            out = {}
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{dest}/"):
                for obj in page.get("Contents", []):
                    out[obj["Key"][len(dest) + 1:]] = int(obj["Size"])
            return out
        root = Path(dest)
        return {p.relative_to(root).as_posix(): p.lstat().st_size for p in root.rglob("*") if not p.is_dir()}

    def hub_bytes(self, transport: str, dest: Any, sha: str) -> HubBytes:
        objects = self.objects(transport, dest)
        pkg = env = other = 0
        for key, size in objects.items():
            if key == f"exchange/objects/{sha}.pkg":
                pkg += size
            elif key.startswith("exchange/inbox/") and (key.endswith(".xml") or key.endswith(".xml.p7s")):
                env += size
            else:
                other += size
                log(f"{transport}: also on the hub: {key} ({size} bytes)")
        unfinished = 0
        if transport == "s3":
            client = self.servers.seaweed.shared_client()
            for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=BUCKET, Prefix=f"{dest}/"):
                unfinished += len(page.get("Uploads", []))
        envelope_files = sum(1 for k in objects if k.startswith("exchange/inbox/"))
        if pkg == 0 or envelope_files != 2 * self.args.recipients:
            sys.exit(f"{transport}: expected the package and {2 * self.args.recipients} envelope files on the hub, "
                     f"found {len(objects)} objects")
        return HubBytes(pkg, env, other, len(objects), unfinished)

    def send(self, transport: str, keep: bool) -> tuple[float, Path, Any, dict[str, str], HubBytes]:
        n = self._next()
        spec, env, dest = self.hub(transport, n)
        home = fresh_home(self.city / "home", self.runs / f"home-{n}", spec, self.codes)
        pkg = package(home)
        subprocess.run(["sync"], check=False)
        seconds, stdout = timed([str(BIN / "govarc"), "--home", str(home), "send", str(pkg), "--agency", SENDER,
                                 "--to", GROUP, "--urgency", "加急", "--deadline", "3d", "--json"], env,
                                f"govarc send over {transport}")
        report = json.loads(stdout)
        if report["envelopes_written"] != self.args.recipients or not report["package_written"]:
            sys.exit(f"send over {transport}: {report['envelopes_written']} envelopes written, package written "
                     f"{report['package_written']}")
        counted = self.hub_bytes(transport, dest, report["package_sha256"])
        if counted.package != pkg.stat().st_size:
            sys.exit(f"{transport}: the package on the hub is {counted.package} bytes, {pkg.stat().st_size} sent")
        if not keep:
            self.clean(transport, dest)
            shutil.rmtree(home)
        return seconds, home, dest, env, counted

    def _plain(self, way: str, transport: str, env: dict[str, str], pairs: list[tuple[str, str]],
               dest_root: Any) -> float:
        n = self._next()
        if transport == "folder":  # downloads: one cp per copy
            script = "\n".join(f"cp {shlex.quote(r)} {shlex.quote(loc)}" for loc, r in pairs)
            seconds, _ = timed(["sh", "-ec", script], env, "cp")
            return seconds
        spec: dict[str, Any] = {"pairs": pairs}
        if transport == "sftp":
            sshd = self.servers.sshd
            spec.update(host=sshd.host, port=sshd.port, user=sshd.user, identity_file=str(sshd.client_key),
                        known_hosts=str(sshd.known_hosts), root=str(dest_root))
        else:
            spec.update(endpoint_url=self.servers.seaweed.endpoint_url, bucket=BUCKET)
        spec_file = self.runs / f"plain-{n}.json"
        spec_file.write_text(json.dumps(spec), encoding="utf-8")
        seconds, _ = timed([sys.executable, str(Path(__file__).resolve()), "_raw", way, transport, str(spec_file)],
                           env, f"plain {transport} client ({way})")
        return seconds

    def upload(self, transport: str, src: Path) -> float:
        """The plain client writing the files under ``src`` (keys relative to it) into an empty hub."""
        _, env, dest = self.hub(transport, self._next())
        keys = sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if not p.is_dir())
        subprocess.run(["sync"], check=False)
        if transport == "folder":  # one cp for the whole tree
            seconds, _ = timed(["cp", "-r", f"{src}/.", str(dest)], env, "cp -r")
        else:
            remote = (lambda k: f"{dest}/{k}") if transport == "s3" else (lambda k: str(Path(dest) / k))
            seconds = self._plain("put", transport, env, [(str(src / k), remote(k)) for k in keys], dest)
        got = self.objects(transport, dest)
        if sorted(got) != keys:
            sys.exit(f"plain {transport} upload: {len(got)} of {len(keys)} objects arrived")
        self.clean(transport, dest)
        return seconds

    def receive(self, transport: str, home: Path, dest: Any, env: dict[str, str]) -> tuple[float, float]:
        """``govarc receive --agency R001`` alone, then one ``govarc receive`` for the rest; checks every arrival."""
        subprocess.run(["sync"], check=False)
        base = [str(BIN / "govarc"), "--home", str(home), "--json", "receive"]
        one, out_one = timed([*base, "--agency", self.codes[0]], env, f"govarc receive --agency {self.codes[0]}")
        rest, out_rest = timed(base, env, f"govarc receive over {transport}")
        states: dict[str, list[str]] = {}
        for doc in (json.loads(out_one), json.loads(out_rest)):
            for a in doc["agencies"]:
                states.setdefault(a["agency"], []).extend(m["state"] for m in a["messages"])
        bad = {c: states.get(c) for c in self.codes if states.get(c) != ["received"]}
        if bad or states.get(SENDER):
            sys.exit(f"receive over {transport}: not received as expected: {dict(list(bad.items())[:5])}")
        kept = list((home / "incoming").glob("*/*.zip"))
        if len(kept) != len(self.codes):
            sys.exit(f"receive over {transport}: {len(kept)} packages kept in incoming/, {len(self.codes)} expected")
        return one, rest

    def download(self, transport: str, dest: Any, env: dict[str, str], sha: str, times: int) -> float:
        """The plain client downloading the package ``times`` times, as many files."""
        folder = self.runs / f"downloads-{self._next()}"
        folder.mkdir()
        key = f"exchange/objects/{sha}.pkg"
        remote = f"{dest}/{key}" if transport == "s3" else str(Path(dest) / key)
        pairs = [(str(folder / f"{i}.zip"), remote) for i in range(times)]
        subprocess.run(["sync"], check=False)
        seconds = self._plain("get", transport, env, pairs, dest)
        if sum(1 for _ in folder.iterdir()) != times:
            sys.exit(f"plain {transport} download: not every copy arrived")
        shutil.rmtree(folder)
        return seconds


def run_transport(runner: Runner, transport: str, repeat: int) -> Row:
    sends, uploads = [], []
    once = runner.runs / "once"
    if not once.exists():
        once.mkdir()
        os.link(runner.package, once / "package.zip")
    for i in range(repeat):
        log(f"{transport}: send {i + 1} of {repeat}")
        last = i == repeat - 1
        if i % 2 == 0:  # alternate which goes first, so a drifting machine favours neither
            s, home, dest, env, counted = runner.send(transport, keep=last)
            uploads.append(runner.upload(transport, once))
        else:
            uploads.append(runner.upload(transport, once))
            s, home, dest, env, counted = runner.send(transport, keep=last)
        sends.append(s)
    sha = next(k for k in runner.objects(transport, dest) if k.startswith("exchange/objects/"))[17:-4]
    # the plain client writing the very objects govarc wrote (copied out of the hub first)
    copies = runner.runs / "objects"
    shutil.rmtree(copies, ignore_errors=True)
    keys = runner.objects(transport, dest)
    for key in keys:
        local = copies / key
        local.parent.mkdir(parents=True, exist_ok=True)
        if transport == "s3":
            runner.servers.seaweed.shared_client().download_file(BUCKET, f"{dest}/{key}", str(local))
        else:
            shutil.copyfile(Path(dest) / key, local)
    log(f"{transport}: the plain client writing the same {len(keys)} objects")
    same = runner.upload(transport, copies)
    shutil.rmtree(copies)
    log(f"{transport}: receive by {len(runner.codes)} agencies")
    one, rest = runner.receive(transport, home, dest, env)
    log(f"{transport}: the plain client downloading the package {len(runner.codes) - 1} times")
    down = runner.download(transport, dest, env, sha, len(runner.codes) - 1)
    runner.clean(transport, dest)
    shutil.rmtree(home)
    expected = counted.package + counted.envelopes
    return Row(
        transport=transport, recipients=len(runner.codes), package_bytes=counted.package,
        envelope_bytes=counted.envelopes, hub_bytes=counted.total, hub_objects=counted.objects,
        hub_other_bytes=counted.other + counted.unfinished_uploads,
        bytes_ratio=round(counted.total / expected, 4), bytes_ratio_package=round(counted.total / counted.package, 4),
        send_s=round(statistics.median(sends), 2), upload_once=BASELINES[transport],
        upload_once_s=round(statistics.median(uploads), 2),
        send_ratio=round(statistics.median(s / u for s, u in zip(sends, uploads)), 1),
        same_objects_s=round(same, 2), receive_one_s=round(one, 2), receive_all_s=round(rest, 2),
        receive_per_agency_s=round(rest / (len(runner.codes) - 1), 3), download=DOWNLOADS[transport],
        download_all_s=round(down, 2), send_runs=[round(x, 3) for x in sends], upload_runs=[round(x, 3) for x in uploads],
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_raw":
        raw_main(sys.argv[2:])
        return
    args = parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOVARC_KEY_PASSPHRASE=PASSPHRASE)
    env.pop("GOVARC_HOME", None)
    city = make_city(args, env)
    servers = Servers(args.out, BUCKET)
    rows: list[Row] = []
    load = os.getloadavg()[0]
    try:
        runner = Runner(args, city, env, servers)
        for transport in args.transports:
            rows.append(run_transport(runner, transport, args.repeat))
    finally:
        servers.stop()
    shutil.rmtree(args.out / "runs", ignore_errors=True)
    from nightly_bench import machine

    facts = {**machine(), "load_at_start": round(load, 2), "load_at_end": round(os.getloadavg()[0], 2),
             "repeat": args.repeat, "recipients": args.recipients, "document_mb": args.mb}
    if args.json:
        print(json.dumps({"machine": facts, "rows": [asdict(r) for r in rows]}, ensure_ascii=False, indent=2))
        return
    print(f"govarc send to {args.recipients} agencies and receive by each: send median of {args.repeat} run(s); "
          f"machine: {facts['cores']} cores ({facts['cpu']}), Python {facts['python']}, "
          f"load {facts['load_at_start']} -> {facts['load_at_end']}")
    print(f"{'transport':<9} {'package B':>10} {'envelopes B':>11} {'hub B':>10} {'ratio':>6} {'target':>7} "
          f"{'/pkg':>6} {'send s':>7} {'upload once':<24} {'s':>6} {'ratio':>6} {'same objs s':>11}")
    for r in rows:
        mark = "" if r.bytes_ratio <= BYTES_TARGET else " missed"
        print(f"{r.transport:<9} {r.package_bytes:>10} {r.envelope_bytes:>11} {r.hub_bytes:>10} {r.bytes_ratio:>6.3f} "
              f"{'≤ ' + str(BYTES_TARGET):>7} {r.bytes_ratio_package:>6.3f} {r.send_s:>7.2f} {r.upload_once:<24} "
              f"{r.upload_once_s:>6.2f} {r.send_ratio:>6.1f} {r.same_objects_s:>11.2f}{mark}")
    print(f"{'transport':<9} {'receive 1 agency s':>18} {'receive rest s':>14} {'s/agency':>9} {'download':<24} "
          f"{'x N s':>7} {'s/agency':>9}")
    for r in rows:
        n = r.recipients - 1
        print(f"{r.transport:<9} {r.receive_one_s:>18.2f} {r.receive_all_s:>14.2f} {r.receive_per_agency_s:>9.3f} "
              f"{r.download:<24} {r.download_all_s:>7.2f} {r.download_all_s / n:>9.3f}")


if __name__ == "__main__":
    main()
