"""The S3 transport: objects in an S3-compatible bucket (AWS S3, SeaweedFS, MinIO, Ceph RGW), under a prefix.

``s3://bucket/prefix`` with the options ``endpoint_url``, ``region`` and ``profile``. Credentials
come from boto3's chain only (the environment, a named profile, an instance role), never from
the URL or ``govarc.toml``. The client retries a bounded number of times with bounded timeouts.

An object up to one part (:data:`PART_SIZE`) is stored with a single PUT carrying its SHA-256 as
metadata (``x-amz-meta-sha256``), a ``Content-MD5`` and an ``x-amz-checksum-sha256`` the server
checks. A larger one is a multipart upload of :data:`PART_SIZE` parts, each with a ``Content-MD5``;
S3 makes it visible only when the upload is completed, after its size and SHA-256 were checked.
An interrupted upload stays on the server: the next put of the key finds it with
``ListMultipartUploads``, compares each uploaded part with the stream (its ETag is the MD5 of the
part), keeps the matching ones and uploads the rest. ``clean_temporaries`` aborts stale uploads.
S3 has no folders: the transport itself refuses a key below an object, or an object over keys.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

from govarc.transport.base import (
    BLOCK_SIZE,
    DEFAULT_TEMPORARY_AGE,
    MAX_KEY_BYTES,
    MAX_LIST_KEYS,
    MIB,
    DigestMismatchError,
    InvalidKeyError,
    ObjectExistsError,
    ObjectInfo,
    ObjectNotFoundError,
    ObjectTooLargeError,
    Progress,
    PutResult,
    Readable,
    Transport,
    TransportError,
    TransportUnavailableError,
    Writable,
    check_sha256,
    check_size,
    is_under,
    is_valid_key,
    read_chunk,
    validate_key,
    validate_prefix,
)

PART_SIZE = 8 * MIB
"""Bytes in one part of a multipart upload (the S3 minimum is 5 MiB): the unit of resumed uploads."""

PARALLEL_PARTS = 4
"""Parts of one multipart upload sent at once, each from a thread of its own: at most this many parts
(and one more being read) are held in memory."""

MAX_ATTEMPTS = 3
"""Attempts per request (botocore's standard retry mode), so a dead endpoint fails in seconds."""

CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60

META_SHA256 = "sha256"
"""The user metadata holding an object's SHA-256 (``x-amz-meta-sha256`` on the wire)."""

OPTIONS = frozenset({"endpoint_url", "region", "profile"})

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_MD5_ETAG = re.compile(r'^"?([0-9a-f]{32})"?$')
_CODE = re.compile(r"[^A-Za-z0-9.]")

_REFUSED_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
                        "TokenRefreshRequired", "AuthorizationHeaderMalformed"}
_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class S3Transport(Transport):
    """Objects under ``prefix/`` in ``bucket`` of an S3-compatible service."""

    scheme = "s3"
    resume_unit = PART_SIZE
    stores_digests = True

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str | None = None, profile: str | None = None, client: Any = None):
        if not _BUCKET.match(bucket) or ".." in bucket:
            raise TransportUnavailableError(f"not an S3 bucket name: {bucket[:70]!r}")
        prefix = prefix.strip("/")
        if prefix:
            try:
                validate_prefix(prefix)
            except InvalidKeyError as e:
                raise TransportUnavailableError(f"not a usable S3 prefix: {e}") from e
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint_url = endpoint_url
        self._url = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
        # folders this transport stored objects under: their names are known not to be objects, so a
        # put below them skips one HEAD per level (a delete forgets them all; a put of such a name
        # is refused anyway, as a folder of other keys)
        self._folders: set[str] = set()
        self._owns_client = client is None  # a client handed in (shared, or a test's) is closed by its owner
        self._client = client if client is not None else self._make_client(endpoint_url, region, profile)
        self._call("checking the bucket", "", self._client.head_bucket, Bucket=bucket)

    def _make_client(self, endpoint_url: str | None, region: str | None, profile: str | None) -> Any:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError

        config = Config(
            connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
            retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            # govarc sends its own Content-MD5 and SHA-256; no CRC the server may not know
            request_checksum_calculation="when_required", response_checksum_validation="when_required",
        )
        try:
            session = boto3.session.Session(profile_name=profile, region_name=region)
            return session.client("s3", endpoint_url=endpoint_url, config=config)
        except (BotoCoreError, ValueError) as e:
            raise TransportUnavailableError(f"cannot set up the S3 client: {type(e).__name__}"
                                            f"{' (profile ' + repr(profile) + ')' if profile else ''}", self._url) from e

    @property
    def url(self) -> str:
        return self._url

    # --- requests and their errors -------------------------------------------------------------

    def _full(self, key: str) -> str:
        full = f"{self.prefix}/{key}" if self.prefix else key
        if len(full.encode("utf-8")) > MAX_KEY_BYTES:
            shown = key if len(key) <= 60 else key[:57] + "..."
            raise InvalidKeyError(f"invalid key {shown!r}: with the prefix {self.prefix!r} "
                                  f"longer than {MAX_KEY_BYTES} bytes (the S3 limit)")
        return full

    def _error(self, e: Exception, key: str, action: str) -> TransportError:
        from botocore.exceptions import (
            ClientError,
            ConnectionError,
            HTTPClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        where = self.where(key)
        if isinstance(e, ClientError):
            err = e.response.get("Error", {}) or {}
            code = _CODE.sub("", str(err.get("Code", "")))[:60]
            status = (e.response.get("ResponseMetadata", {}) or {}).get("HTTPStatusCode")
            if code == "NoSuchBucket" or (not key and status == 404):
                return TransportUnavailableError(f"no such bucket {self.bucket!r}", self.url)
            if code in _REFUSED_CREDENTIALS:
                return TransportUnavailableError(f"the S3 credentials were refused ({code})", self.url)
            if code == "AccessDenied" or status == 403:
                return TransportUnavailableError(
                    f"{action} failed: access denied (wrong credentials or no permission)", where)
            if code in _NOT_FOUND or status == 404:
                return ObjectNotFoundError("no such object", where)
            if code == "PreconditionFailed" or status == 412:
                return ObjectExistsError("another object appeared under the key meanwhile", where)
            return TransportError(f"{action} failed: the server answered {code or status}", where)
        if isinstance(e, (NoCredentialsError, PartialCredentialsError)):
            return TransportUnavailableError(
                "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or choose a profile", self.url)
        if isinstance(e, (ConnectionError, HTTPClientError)):
            endpoint = self.endpoint_url or "the S3 endpoint"
            return TransportUnavailableError(f"{action} failed: cannot reach {endpoint} ({type(e).__name__})", where)
        return TransportError(f"{action} failed: {type(e).__name__}", where)

    def _call(self, action: str, key: str, fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except (ClientError, BotoCoreError) as e:
            raise self._error(e, key, action) from e

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self._call("looking up the object", key, self._client.head_object,
                                              Bucket=self.bucket, Key=self._full(key))
        except ObjectNotFoundError:
            return None
        return head

    @staticmethod
    def _stored_sha(head: Mapping[str, Any]) -> str | None:
        value = (head.get("Metadata") or {}).get(META_SHA256)
        return value if isinstance(value, str) and _HEX64.match(value) else None

    def _info(self, key: str, head: Mapping[str, Any]) -> ObjectInfo:
        return ObjectInfo(key, int(head["ContentLength"]), self._stored_sha(head))

    # --- reading -------------------------------------------------------------------------------

    def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        head = self._head(key)
        if head is None:
            raise ObjectNotFoundError("no such object", self.where(key))
        return self._info(key, head)

    def exists(self, key: str) -> bool:
        validate_key(key)
        return self._head(key) is not None

    def get(self, key: str, sink: Writable, sha256: str | None = None, *,
            max_size: int | None = None, progress: Progress | None = None) -> ObjectInfo:
        validate_key(key)
        expected = check_sha256(sha256)
        max_size = check_size(max_size)
        where = self.where(key)
        resp = self._call("reading the object", key, self._client.get_object, Bucket=self.bucket, Key=self._full(key))
        body = resp["Body"]
        try:
            length = int(resp["ContentLength"])
            if max_size is not None and length > max_size:
                raise ObjectTooLargeError(f"{length} bytes, over the limit of {max_size}", where)
            stored = self._stored_sha(resp)
            h = hashlib.sha256()
            n = 0
            while True:
                try:
                    chunk = body.read(BLOCK_SIZE)
                except Exception as e:  # urllib3 and botocore stream errors alike: one line
                    raise TransportError(f"reading the object failed: {type(e).__name__}", where) from e
                if not chunk:
                    break
                n += len(chunk)
                if max_size is not None and n > max_size:
                    raise ObjectTooLargeError(f"over the limit of {max_size} bytes", where)
                h.update(chunk)
                sink.write(chunk)
                if progress is not None:
                    progress(n)
        finally:
            body.close()
        if n != length:
            raise TransportError(f"the object ended after {n} of {length} bytes", where)
        digest = h.hexdigest()
        if expected is not None and digest != expected:
            raise DigestMismatchError(f"SHA-256 is {digest}, expected {expected}", where)
        if stored is not None and digest != stored:
            raise DigestMismatchError(f"SHA-256 is {digest}, but the stored digest is {stored}: "
                                      "the object was changed on the server", where)
        return ObjectInfo(key, n, digest)

    def list(self, prefix: str = "") -> list[str]:
        prefix = validate_prefix(prefix)
        below = self._full(prefix) + "/" if prefix else (self.prefix + "/" if self.prefix else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys: list[str] = []
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=below)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            for page in pages:
                for obj in page.get("Contents", []) or []:
                    name = obj.get("Key")
                    if not isinstance(name, str):
                        continue
                    key = name[strip:]
                    if not is_valid_key(key) or not is_under(key, prefix):
                        continue  # temporaries, folder markers and names no key can address
                    keys.append(key)
                    if len(keys) > MAX_LIST_KEYS:
                        raise TransportError(f"more than {MAX_LIST_KEYS} keys to list", self.where(prefix))
        except (ClientError, BotoCoreError) as e:
            raise self._error(e, prefix, "listing") from e
        return sorted(keys)

    # --- writing -------------------------------------------------------------------------------

    def delete(self, key: str) -> bool:
        validate_key(key)
        self._folders.clear()
        if self._head(key) is None:
            return False
        self._call("deleting the object", key, self._client.delete_object, Bucket=self.bucket, Key=self._full(key))
        return True

    def _check_collisions(self, key: str) -> None:
        """S3 keeps ``a`` and ``a/b`` side by side; a transport key is an object or a folder, never both."""
        where = self.where(key)
        segments = key.split("/")
        for i in range(1, len(segments)):
            above = "/".join(segments[:i])
            if above in self._folders:
                continue
            if self._head(above) is not None:
                raise ObjectExistsError(f"the key lies below the object {above!r}", where)
        resp = self._call("looking up the key", key, self._client.list_objects_v2,
                          Bucket=self.bucket, Prefix=self._full(key) + "/", MaxKeys=1)
        if resp.get("Contents"):
            raise ObjectExistsError("the key is a folder of other keys", where)

    def _parts(self, stream: Readable, size: int | None, where: str, h: Any) -> Iterator[bytes]:
        """The stream in :data:`PART_SIZE` pieces (the last shorter, none for an empty stream), hashed."""
        total = 0
        while True:
            buf = bytearray()
            while len(buf) < PART_SIZE:
                chunk = read_chunk(stream, min(BLOCK_SIZE, PART_SIZE - len(buf)), where)
                if not chunk:
                    break
                buf += chunk
                total += len(chunk)
                if size is not None and total > size:
                    raise DigestMismatchError(f"more than the {size} bytes expected; nothing was stored", where)
            if not buf:
                return
            h.update(buf)
            yield bytes(buf)
            if len(buf) < PART_SIZE:
                return

    def put(self, key: str, stream: Readable, size: int | None = None, sha256: str | None = None, *,
            overwrite: bool = False, resume: bool = True, progress: Progress | None = None) -> PutResult:
        validate_key(key)
        expected = check_sha256(sha256)
        size = check_size(size)
        result = self._put(key, stream, size, expected, overwrite, resume, progress)
        segments = key.split("/")
        self._folders.update("/".join(segments[:i]) for i in range(1, len(segments)))
        return result

    def _put(self, key: str, stream: Readable, size: int | None, expected: str | None, overwrite: bool,
             resume: bool, progress: Progress | None) -> PutResult:
        where = self.where(key)
        self._check_collisions(key)
        head = self._head(key)
        if head is not None:
            have = self._stored_sha(head)
            have_size = int(head["ContentLength"])
            if expected is not None:
                if have is None:
                    have = self.digest(key)
                if have == expected and (size is None or have_size == size):
                    return PutResult(key, have_size, have, written=False)
                if not overwrite:
                    raise ObjectExistsError("a different object is already there", where)
            elif not overwrite:
                h = hashlib.sha256()
                n = 0
                for part in self._parts(stream, size, where, h):
                    n += len(part)
                    if progress is not None:
                        progress(n)
                self._check_content(n, h.hexdigest(), size, None, where)
                if have is None:
                    have = self.digest(key)
                if h.hexdigest() == have and n == have_size:
                    return PutResult(key, n, have, written=False)
                raise ObjectExistsError("a different object is already there", where)
        return self._upload(key, stream, size, expected, overwrite or head is not None, resume, progress)

    @staticmethod
    def _check_content(n: int, digest: str, size: int | None, expected: str | None, where: str) -> None:
        if size is not None and n != size:
            raise DigestMismatchError(f"{n} bytes, expected {size}; nothing was stored", where)
        if expected is not None and digest != expected:
            raise DigestMismatchError(f"SHA-256 is {digest}, expected {expected}; nothing was stored", where)

    def _upload(self, key: str, stream: Readable, size: int | None, expected: str | None,
                overwrite: bool, resume: bool, progress: Progress | None) -> PutResult:
        where = self.where(key)
        full = self._full(key)
        h = hashlib.sha256()
        parts = self._parts(stream, size, where, h)
        first = next(parts, b"")
        old = self._latest_upload(key) if resume else None
        if len(first) < PART_SIZE:  # the whole object fits in one part: a single PUT
            digest = h.hexdigest()
            self._check_content(len(first), digest, size, expected, where)
            extra: dict[str, Any] = {} if overwrite else {"IfNoneMatch": "*"}
            self._call("storing the object", key, self._client.put_object, Bucket=self.bucket, Key=full,
                       Body=first, ContentLength=len(first), Metadata={META_SHA256: digest},
                       ContentMD5=base64.b64encode(hashlib.md5(first, usedforsecurity=False).digest()).decode(),
                       ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode(), **extra)
            if old is not None:
                self._abort(key, old)
            if progress is not None:
                progress(len(first))
            return PutResult(key, len(first), digest, written=True)

        stored = self._uploaded_parts(key, old) if old is not None else {}
        upload_id: str | None = None
        tagged = False  # True when this upload was created here with the right digest as metadata
        done: list[dict[str, Any]] = []
        resumed = 0
        matching = True
        n = 0
        sent = 0  # bytes of the parts the server confirmed (progress)
        inflight: set[Future[int]] = set()

        def settle(block: bool) -> None:
            """Collect the parts that finished (waiting for one when ``block``); the first failure raises."""
            nonlocal sent
            finished, _ = wait(inflight, timeout=None if block else 0, return_when=FIRST_COMPLETED)
            for future in finished:
                inflight.discard(future)
                sent += future.result()
                if progress is not None:
                    progress(sent)

        held = [first]  # handed on, then no longer held here: memory stays at the parts in flight
        del first

        def all_parts() -> Iterator[bytes]:
            yield held.pop()
            yield from parts

        # parts go up PARALLEL_PARTS at a time; on any failure (the stream, the server) the parts
        # already sent are waited for, so an interruption keeps every part that left
        with ThreadPoolExecutor(max_workers=PARALLEL_PARTS, thread_name_prefix="govarc-s3-part") as pool:
            try:
                for number, data in enumerate(all_parts(), start=1):
                    etag = _md5(data)
                    if matching and stored.get(number) == (etag, len(data)):
                        upload_id = old
                        resumed += len(data)
                        sent += len(data)
                        if progress is not None:
                            progress(sent)
                    else:
                        if matching and upload_id is None:  # nothing reusable: a fresh upload
                            if old is not None:
                                self._abort(key, old)
                            meta = {META_SHA256: expected} if expected is not None else {}
                            created = self._call("starting the upload", key, self._client.create_multipart_upload,
                                                 Bucket=self.bucket, Key=full, Metadata=meta)
                            upload_id, tagged = str(created["UploadId"]), expected is not None
                        matching = False
                        while len(inflight) >= PARALLEL_PARTS:
                            settle(block=True)
                        inflight.add(pool.submit(self._send_part, key, full, str(upload_id), number, data, etag))
                        settle(block=False)
                    done.append({"PartNumber": number, "ETag": f'"{etag}"'})
                    n += len(data)
                    del data
                while inflight:
                    settle(block=True)
                digest = h.hexdigest()
                self._check_content(n, digest, size, expected, where)
            except DigestMismatchError:
                wait(inflight)
                if upload_id is not None:
                    self._abort(key, upload_id)  # wrong content is not worth resuming
                raise
            except BaseException:
                wait(inflight)  # the parts already sent stay for the next put to resume
                raise
        assert upload_id is not None
        if not overwrite and self._head(key) is not None:
            raise ObjectExistsError("another object appeared under the key meanwhile", where)
        self._call("completing the upload", key, self._client.complete_multipart_upload, Bucket=self.bucket,
                   Key=full, UploadId=upload_id, MultipartUpload={"Parts": done})
        if not tagged:
            self._tag(key, digest)
        return PutResult(key, n, digest, written=True, resumed_from=resumed)

    def _send_part(self, key: str, full: str, upload_id: str, number: int, data: bytes, etag: str) -> int:
        """Upload one part, checked by the server against its MD5 (``Content-MD5``); returns its size."""
        self._call("uploading a part", key, self._client.upload_part, Bucket=self.bucket, Key=full,
                   UploadId=upload_id, PartNumber=number, Body=data, ContentLength=len(data),
                   ContentMD5=base64.b64encode(bytes.fromhex(etag)).decode())
        return len(data)

    def _tag(self, key: str, digest: str) -> None:
        """Set the SHA-256 metadata of a completed upload that did not start with it (a server-side copy)."""
        head = self._head(key)
        if head is not None and self._stored_sha(head) == digest:
            return
        full = self._full(key)
        self._call("recording the digest", key, self._client.copy_object, Bucket=self.bucket, Key=full,
                   CopySource={"Bucket": self.bucket, "Key": full}, Metadata={META_SHA256: digest},
                   MetadataDirective="REPLACE")

    # --- multipart uploads left behind ---------------------------------------------------------

    def _uploads(self, s3prefix: str) -> Iterator[dict[str, Any]]:
        pages = self._client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=s3prefix)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            for page in pages:
                yield from page.get("Uploads", []) or []
        except (ClientError, BotoCoreError) as e:
            raise self._error(e, "", "listing the unfinished uploads") from e

    def _latest_upload(self, key: str) -> str | None:
        full = self._full(key)
        found = [u for u in self._uploads(full) if u.get("Key") == full and u.get("UploadId")]
        if not found:
            return None
        found.sort(key=lambda u: u.get("Initiated") or datetime.min)
        return str(found[-1]["UploadId"])

    def _uploaded_parts(self, key: str, upload_id: str) -> dict[int, tuple[str, int]]:
        """Part number → (MD5 from its ETag, size); parts whose ETag is not an MD5 cannot be verified and are left out."""
        out: dict[int, tuple[str, int]] = {}
        pages = self._client.get_paginator("list_parts").paginate(Bucket=self.bucket, Key=self._full(key),
                                                                   UploadId=upload_id)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            for page in pages:
                for part in page.get("Parts", []) or []:
                    m = _MD5_ETAG.match(str(part.get("ETag", "")))
                    if m:
                        out[int(part["PartNumber"])] = (m.group(1), int(part.get("Size", -1)))
        except (ClientError, BotoCoreError) as e:
            err = self._error(e, key, "listing the uploaded parts")
            if isinstance(err, ObjectNotFoundError):  # the upload was aborted meanwhile
                return {}
            raise err from e
        return out

    def _last_touched(self, upload: Mapping[str, Any]) -> float:
        latest = upload.get("Initiated")
        stamp = latest.timestamp() if isinstance(latest, datetime) else 0.0
        try:
            resp = self._client.list_parts(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        except Exception:
            return stamp
        for part in resp.get("Parts", []) or []:
            modified = part.get("LastModified")
            if isinstance(modified, datetime):
                stamp = max(stamp, modified.timestamp())
        return stamp

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self._call("discarding the unfinished upload", key, self._client.abort_multipart_upload,
                       Bucket=self.bucket, Key=self._full(key), UploadId=upload_id)
        except ObjectNotFoundError:
            pass

    def clean_temporaries(self, max_age: float = DEFAULT_TEMPORARY_AGE) -> int:
        now = time.time()
        removed = 0
        s3prefix = self.prefix + "/" if self.prefix else ""
        for upload in list(self._uploads(s3prefix)):
            name = upload.get("Key")
            if not isinstance(name, str) or not upload.get("UploadId"):
                continue
            if now - self._last_touched(upload) < max_age:
                continue
            try:
                self._call("discarding the unfinished upload", name, self._client.abort_multipart_upload,
                           Bucket=self.bucket, Key=name, UploadId=upload["UploadId"])
            except ObjectNotFoundError:
                continue
            removed += 1
        return removed

    def close(self) -> None:
        close = getattr(self._client, "close", None)
        if close is not None and self._owns_client:
            close()


def open_s3(url: str, parts: SplitResult, base: Path | None, options: Mapping[str, object]) -> Transport:
    """The :class:`S3Transport` for ``s3://bucket/prefix`` and its options (``endpoint_url``, ``region``, ``profile``)."""
    from govarc.transport import display_url

    shown = display_url(url)
    if parts.username is not None or parts.password is not None:
        raise TransportUnavailableError("credentials never go in an s3: URL (use the environment or a profile)",
                                        f"s3://{parts.hostname or ''}{parts.path}")
    if parts.port is not None or parts.query or parts.fragment:
        raise TransportUnavailableError("an s3: URL is s3://bucket/prefix, without a port, query or fragment", shown)
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise TransportUnavailableError(f"unknown S3 option {unknown[0]!r} (known: {', '.join(sorted(OPTIONS))})", shown)
    text: dict[str, str | None] = {}
    for name in OPTIONS:
        value = options.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise TransportUnavailableError(f"the S3 option {name!r} must be a non-empty string", shown)
        text[name] = value
    endpoint = text["endpoint_url"]
    if endpoint is not None:
        ep = urlsplit(endpoint)
        if ep.scheme not in ("http", "https") or not ep.hostname or ep.username or ep.password:
            raise TransportUnavailableError("endpoint_url must be an http(s)://host[:port] URL without credentials",
                                            shown)
    bucket = parts.netloc
    prefix = unquote(parts.path, errors="strict")
    return S3Transport(bucket, prefix, endpoint_url=endpoint, region=text["region"], profile=text["profile"])
