"""The S3 transport against a real SeaweedFS: what the contract cannot see through the interface.

Credentials and locations refused with one line (exit 5), the server killed mid-upload (parts in
flight) and the next put resuming, parts sent several at a time within a bound, an object changed on the server behind govarc's back, the prefix confining keys.
"""

from __future__ import annotations

import io
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from govarc.errors import EXIT_TRANSFER, TransferError
from govarc.transport import (
    DigestMismatchError,
    InvalidKeyError,
    TransportError,
    TransportUnavailableError,
    open_transport,
)
from govarc.transport.s3 import PARALLEL_PARTS, PART_SIZE, S3Transport
from tests.servers.seaweed import Seaweed, free_ports
from tests.transport.streams import Source, blob, sha


def one_line_exit_5(err: BaseException, *secrets: str) -> str:
    text = str(err)
    assert "\n" not in text, text
    assert isinstance(err, TransferError) and err.exit_code == EXIT_TRANSFER
    for secret in secrets:
        assert secret not in text
    return text


def test_open_transport_with_the_environments_credentials(s3_env: Seaweed, s3_bucket: str, s3_prefix: str):
    t = open_transport(f"s3://{s3_bucket}/{s3_prefix}", options={"endpoint_url": s3_env.endpoint_url})
    assert isinstance(t, S3Transport) and t.url == f"s3://{s3_bucket}/{s3_prefix}"
    t.put("收文/正文.pdf", io.BytesIO(b"%PDF-1.7"))
    assert t.list() == ["收文/正文.pdf"]
    raw = s3_env.shared_client().get_object(Bucket=s3_bucket, Key=f"{s3_prefix}/收文/正文.pdf")
    assert raw["Metadata"]["sha256"] == sha(b"%PDF-1.7")  # x-amz-meta-sha256
    t.close()


def test_the_prefix_confines_keys_and_listing(s3_env: Seaweed, s3_bucket: str, s3_prefix: str):
    t = S3Transport(s3_bucket, s3_prefix, endpoint_url=s3_env.endpoint_url, client=s3_env.shared_client())
    raw = s3_env.shared_client()
    raw.put_object(Bucket=s3_bucket, Key=f"{s3_prefix}-other/x", Body=b"not ours")
    raw.put_object(Bucket=s3_bucket, Key=f"{s3_prefix}/.govarc-state/x", Body=b"reserved")
    raw.put_object(Bucket=s3_bucket, Key=f"{s3_prefix}/bad\x01name", Body=b"no key names this")
    t.put("a", io.BytesIO(b"1"))
    assert t.list() == ["a"]
    with pytest.raises(InvalidKeyError):
        t.put("x" * 1020, io.BytesIO(b"1"))  # fits a key, not with the prefix in S3's 1024 bytes


def test_wrong_credentials_are_one_line_exit_5(s3_env: Seaweed, s3_bucket: str, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-0123456789")
    with pytest.raises(TransportUnavailableError) as e:
        open_transport(f"s3://{s3_bucket}/inbound", options={"endpoint_url": s3_env.endpoint_url})
    text = one_line_exit_5(e.value, "wrong-secret-0123456789", s3_env.secret_key)
    assert "access denied" in text or "credentials were refused" in text, text
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nobody")
    with pytest.raises(TransportUnavailableError) as e:
        open_transport(f"s3://{s3_bucket}/inbound", options={"endpoint_url": s3_env.endpoint_url})
    one_line_exit_5(e.value, "wrong-secret-0123456789")


def test_no_credentials_at_all(s3_env: Seaweed, s3_bucket: str, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(TransportUnavailableError) as e:
        open_transport(f"s3://{s3_bucket}", options={"endpoint_url": s3_env.endpoint_url})
    assert "no S3 credentials" in one_line_exit_5(e.value)


def test_a_missing_bucket_is_one_line_exit_5(s3_env: Seaweed):
    with pytest.raises(TransportUnavailableError) as e:
        open_transport("s3://no-such-bucket-here/inbound", options={"endpoint_url": s3_env.endpoint_url})
    assert "no such bucket 'no-such-bucket-here'" in one_line_exit_5(e.value, s3_env.secret_key)


def test_connection_refused_is_one_line_exit_5(s3_env: Seaweed):
    (port,) = free_ports(1)
    with pytest.raises(TransportUnavailableError) as e:
        open_transport("s3://archives/inbound", options={"endpoint_url": f"http://127.0.0.1:{port}"})
    assert "cannot reach" in one_line_exit_5(e.value, s3_env.secret_key)


@pytest.mark.parametrize("url,options,expected", [
    ("s3://AKIA:secret-in-url@bucket/p", {}, "credentials never go in an s3: URL"),
    ("s3://bucket:9000/p", {}, "without a port"),
    ("s3://bucket/p?x=1", {}, "without a port, query"),
    ("s3://Bad_Bucket/p", {}, "not an S3 bucket name"),
    ("s3://bucket/a/../b", {}, "not a usable S3 prefix"),
    ("s3://bucket/p", {"endpoint": "http://x"}, "unknown S3 option 'endpoint'"),
    ("s3://bucket/p", {"endpoint_url": "ftp://x"}, "endpoint_url must be"),
    ("s3://bucket/p", {"endpoint_url": "http://u:pw@x"}, "endpoint_url must be"),
    ("s3://bucket/p", {"region": 3}, "must be a non-empty string"),
])
def test_bad_s3_locations_are_refused_before_any_request(url, options, expected):
    with pytest.raises(TransportUnavailableError) as e:
        open_transport(url, options=options)
    assert expected in one_line_exit_5(e.value, "secret-in-url", "pw@"), str(e.value)


def test_an_unknown_profile_is_one_line(s3_env: Seaweed, s3_bucket: str):
    with pytest.raises(TransportUnavailableError) as e:
        open_transport(f"s3://{s3_bucket}", options={"endpoint_url": s3_env.endpoint_url, "profile": "nope"})
    assert "profile 'nope'" in one_line_exit_5(e.value)


def _counting_client(s3_env: Seaweed, calls: list[int], *, meet: threading.Barrier | None = None,
                     confirmed: set[int] | None = None) -> Any:
    """A client of its own that records each UploadPart: +1 when it starts, -1 when the server confirmed it
    (and its part number into ``confirmed``).

    With ``meet``, the first two parts wait for each other before they go: only parts sent at the
    same time get past it (a part waiting alone breaks the barrier after its timeout, failing the put).
    """
    client = s3_env.client()
    started = itertools.count()

    def number(params: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        context["govarc_part"] = params["PartNumber"]

    def before(**kwargs: Any) -> None:
        calls.append(1)
        if meet is not None and next(started) < 2:
            meet.wait()

    def after(http_response: Any, context: dict[str, Any], **kwargs: Any) -> None:
        ok = http_response.status_code == 200
        calls.append(-1 if ok else 0)
        if ok and confirmed is not None:
            confirmed.add(context["govarc_part"])

    client.meta.events.register("before-parameter-build.s3.UploadPart", number)
    client.meta.events.register("before-call.s3.UploadPart", before)
    client.meta.events.register("after-call.s3.UploadPart", after)
    return client


def _most_at_once(calls: list[int]) -> int:
    level = most = 0
    for step in calls:
        level += step
        most = max(most, level)
    return most


def test_the_server_killed_mid_upload_then_the_next_put_resumes(s3_env: Seaweed, s3_bucket: str, s3_prefix: str):
    """Parts go up several at a time: the server is killed (SIGKILL) once two parts were confirmed and
    while later ones are in flight; the next put keeps each confirmed part of the prefix and sends the rest."""
    calls: list[int] = []
    confirmed: set[int] = set()
    client = _counting_client(s3_env, calls, confirmed=confirmed)
    t = S3Transport(s3_bucket, s3_prefix, endpoint_url=s3_env.endpoint_url, client=client)
    data = blob(6 * PART_SIZE + 4321, seed=31)
    key = "inbound/LZ0012/20240301-0001/pkg.zip"

    def kill_after_two_parts() -> None:
        if src.pos >= 4 * PART_SIZE + 1 and s3_env.proc is not None:  # four parts handed to the senders
            deadline = time.monotonic() + 30
            while not {1, 2} <= confirmed:
                assert time.monotonic() < deadline, "the server never confirmed the first two parts"
                time.sleep(0.01)
            s3_env.kill()

    src = Source(data, watch=kill_after_two_parts)
    with pytest.raises(TransportError) as e:
        t.put(key, src, size=len(data), sha256=sha(data))
    one_line_exit_5(e.value, s3_env.secret_key)
    s3_env.start()  # the same ports and data folder
    assert t.list("inbound") == [] and not t.exists(key)
    calls.clear()
    result = t.put(key, io.BytesIO(data), size=len(data), sha256=sha(data))
    assert result.written and result.resumed_from >= 2 * PART_SIZE and result.resumed_from % PART_SIZE == 0
    assert calls.count(1) == 7 - result.resumed_from // PART_SIZE  # only the parts not kept were sent
    assert result.sha256 == sha(data)
    assert t.stat(key).sha256 == sha(data)
    buf = io.BytesIO()
    assert t.get(key, buf).sha256 == sha(data) and buf.getvalue() == data
    assert t.clean_temporaries(max_age=0) == 0  # the finished upload left nothing behind


def test_parts_go_up_several_at_a_time_and_never_more(s3_env: Seaweed, s3_bucket: str, s3_prefix: str):
    """Two parts meet at a barrier (they are in flight together); never more than PARALLEL_PARTS are,
    and the memory held stays within the parts in flight, not the object."""
    calls: list[int] = []
    client = _counting_client(s3_env, calls, meet=threading.Barrier(2, timeout=60))
    t = S3Transport(s3_bucket, s3_prefix, endpoint_url=s3_env.endpoint_url, client=client)
    data = blob(12 * PART_SIZE + 99, seed=34)
    tracemalloc.start()
    try:
        result = t.put("big.zip", Source(data), size=len(data), sha256=sha(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.written and result.size == len(data)
    assert calls.count(1) == 13 and calls.count(-1) == 13
    assert 2 <= _most_at_once(calls) <= PARALLEL_PARTS
    assert peak < (PARALLEL_PARTS + 4) * PART_SIZE, peak  # the object is 13 parts
    buf = io.BytesIO()
    assert t.get("big.zip", buf, sha(data)).size == len(data) and buf.getvalue() == data


@pytest.mark.parametrize("present", [(1, 2, 4), (1, 3), (2, 3)])
def test_a_resume_keeps_the_confirmed_prefix_and_sends_the_rest(s3_env: Seaweed, s3_bucket: str, s3_prefix: str,
                                                                present: tuple[int, ...]):
    """A process killed with parts in flight leaves holes (part 4 confirmed, part 3 not): the parts of the
    unbroken prefix are kept, every other part is sent again, and the object is exactly the stream."""
    data = blob(5 * PART_SIZE + 7, seed=35)
    raw = s3_env.client()
    full = f"{s3_prefix}/k.zip"
    upload = raw.create_multipart_upload(Bucket=s3_bucket, Key=full)["UploadId"]
    for number in present:
        raw.upload_part(Bucket=s3_bucket, Key=full, UploadId=upload, PartNumber=number,
                        Body=data[(number - 1) * PART_SIZE:number * PART_SIZE])
    calls: list[int] = []
    t = S3Transport(s3_bucket, s3_prefix, endpoint_url=s3_env.endpoint_url, client=_counting_client(s3_env, calls))
    result = t.put("k.zip", io.BytesIO(data), size=len(data), sha256=sha(data))
    prefix = next(i for i in range(1, 7) if i not in present) - 1
    assert result.resumed_from == prefix * PART_SIZE
    assert calls.count(1) == 6 - prefix
    assert t.read("k.zip", max_size=len(data), sha256=sha(data)) == data
    assert t.stat("k.zip").sha256 == sha(data)
    assert t.clean_temporaries(max_age=0) == 0


def test_a_resumed_upload_without_a_known_digest_still_records_it(s3_transport: S3Transport):
    from tests.transport.streams import Interrupted

    data = blob(2 * PART_SIZE + 10, seed=32)
    with pytest.raises(Interrupted):
        s3_transport.put("k", Source(data, fail_at=PART_SIZE + 5), sha256=sha(b"other"))
    result = s3_transport.put("k", io.BytesIO(data))  # the first part matches, its upload said another digest
    assert result.resumed_from == PART_SIZE
    assert s3_transport.stat("k").sha256 == sha(data)


@pytest.mark.parametrize("keep_metadata", [True, False])
def test_an_object_changed_on_the_server_is_detected(s3_env: Seaweed, s3_transport: S3Transport, keep_metadata):
    data = blob(100_000, seed=33)
    key = "inbound/LZ0012/b1/pkg.zip"
    s3_transport.put(key, io.BytesIO(data))
    evil = bytearray(data)
    evil[5000] ^= 0x01
    extra = {"Metadata": {"sha256": sha(data)}} if keep_metadata else {}
    s3_env.shared_client().put_object(Bucket=s3_transport.bucket, Key=key, Body=bytes(evil), **extra)
    if keep_metadata:  # the stored digest no longer matches the content
        with pytest.raises(DigestMismatchError) as e:
            s3_transport.get(key, io.BytesIO())
        assert "changed on the server" in one_line_exit_5(e.value)
    else:  # the digest is gone with the metadata: the caller's recorded one catches it
        assert s3_transport.stat(key).sha256 is None
    with pytest.raises(DigestMismatchError):
        s3_transport.get(key, io.BytesIO(), sha(data))
    with pytest.raises(DigestMismatchError):
        s3_transport.read(key, sha256=sha(data))


def test_a_put_below_folders_it_stored_into_skips_their_lookups_but_not_the_collision_checks(
        s3_env: Seaweed, s3_bucket: str, s3_prefix: str):
    """Many packages into one batch folder: the folders above are looked up once, not once per object
    (a batch of 2,000 small packages spent half its requests on them); a delete forgets what is known."""
    from govarc.transport import ObjectExistsError

    client = s3_env.client()
    heads: list[str] = []
    client.meta.events.register("before-call.s3.HeadObject", lambda params, **kw: heads.append(params["url_path"]))
    t = S3Transport(s3_bucket, s3_prefix, endpoint_url=s3_env.endpoint_url, client=client)
    t.put("inbound/SZF/B1/packages/1.zip", io.BytesIO(b"one"))
    assert len(heads) == 5  # four folders above, then the key itself
    heads.clear()
    t.put("inbound/SZF/B1/packages/2.zip", io.BytesIO(b"two"))
    t.put("inbound/SZF/B1/transfer-list.xml", io.BytesIO(b"<list/>"))
    assert len(heads) == 2  # only the keys themselves
    # a folder still cannot become an object, nor an object a folder
    with pytest.raises(ObjectExistsError, match="folder of other keys"):
        t.put("inbound/SZF/B1/packages", io.BytesIO(b"x"))
    # a delete forgets: the folders are looked up again
    t.delete("inbound/SZF/B1/transfer-list.xml")
    heads.clear()
    t.put("inbound/SZF/B1/packages/3.zip", io.BytesIO(b"three"))
    assert len(heads) == 5
    # an object where a folder was stored before is still refused, by the folder check of its own put
    other = S3Transport(s3_bucket, s3_prefix, endpoint_url=s3_env.endpoint_url, client=s3_env.shared_client())
    with pytest.raises(ObjectExistsError):
        other.put("inbound", io.BytesIO(b"x"))
    with pytest.raises(ObjectExistsError):
        t.put("inbound/SZF", io.BytesIO(b"x"))


_KILLED_WRITER = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from govarc.transport.s3 import S3Transport
from tests.transport.streams import Source, blob, sha

bucket, prefix, endpoint, marker, size = sys.argv[2], sys.argv[3], sys.argv[4], Path(sys.argv[5]), int(sys.argv[6])
t = S3Transport(bucket, prefix, endpoint_url=endpoint)
confirmed = set()

def number(params, context, **kwargs):
    context["part"] = params["PartNumber"]

def after(http_response, context, **kwargs):
    if http_response.status_code == 200:
        confirmed.add(context["part"])
        if {1, 2} <= confirmed:
            marker.touch()

t._client.meta.events.register("before-parameter-build.s3.UploadPart", number)
t._client.meta.events.register("after-call.s3.UploadPart", after)

def watch():
    if marker.exists():
        time.sleep(3600)  # killed here, with the parts handed to the senders still going

data = blob(size, seed=36)
t.put("killed.zip", Source(data, watch=watch), size=size, sha256=sha(data))
"""


def test_a_put_killed_with_parts_in_flight_resumes_from_its_confirmed_parts(
        s3_env: Seaweed, s3_bucket: str, s3_prefix: str, tmp_path: Path):
    """kill -9 of the uploading process once parts 1 and 2 were confirmed, with later parts in flight:
    the next put (another process, another client) keeps the confirmed prefix and stores exactly the stream."""
    root = Path(__file__).resolve().parents[2]
    size = 7 * PART_SIZE + 123
    marker = tmp_path / "two-parts-confirmed"
    child = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(root), s3_bucket, s3_prefix,
                              s3_env.endpoint_url, str(marker), str(size)], stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, f"the writer ended before it was killed ({child.returncode})"
            assert time.monotonic() < deadline, "the writer never had two parts confirmed"
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    data = blob(size, seed=36)
    t = S3Transport(s3_bucket, s3_prefix, endpoint_url=s3_env.endpoint_url, client=s3_env.client())
    assert not t.exists("killed.zip")
    result = t.put("killed.zip", io.BytesIO(data), size=size, sha256=sha(data))
    assert result.written and result.resumed_from >= 2 * PART_SIZE and result.resumed_from % PART_SIZE == 0
    assert t.read("killed.zip", max_size=size, sha256=sha(data)) == data
    assert t.clean_temporaries(max_age=0) == 0
