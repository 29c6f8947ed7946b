"""from_os_error: what an OSError means to a govarc user (exit code, the file named)."""

from __future__ import annotations

import errno
import os

import pytest

from govarc.errors import ConfigError, DiskFullError, GovarcError, from_os_error


@pytest.mark.parametrize("number, cls, exit_code", [
    (errno.ENOSPC, DiskFullError, 8),
    (errno.EDQUOT, DiskFullError, 8),
    (errno.EROFS, ConfigError, 6),
    (errno.EACCES, ConfigError, 6),
    (errno.EPERM, ConfigError, 6),
    (errno.EIO, GovarcError, 1),
    (errno.EEXIST, GovarcError, 1),
])
def test_each_errno_has_its_error_and_exit_code_and_names_the_file(number, cls, exit_code):
    err = from_os_error(OSError(number, os.strerror(number), "/srv/govarc/store/SZF/x"))
    assert type(err) is cls and err.exit_code == exit_code
    assert str(err).startswith(f"/srv/govarc/store/SZF/x: {os.strerror(number)}")


def test_a_full_disk_names_the_destination_of_a_copy_and_bytes_names_decode():
    err = from_os_error(OSError(errno.ENOSPC, "No space left on device", "/src/a.pdf", None, "/srv/govarc/tmp/a.pdf"))
    assert err.path == "/srv/govarc/tmp/a.pdf"
    assert str(err) == "/srv/govarc/tmp/a.pdf: No space left on device: free space and run again"
    assert from_os_error(OSError(errno.EROFS, "Read-only file system", "/srv/档案".encode())).path == "/srv/档案"
    assert from_os_error(OSError(errno.ENOSPC, "No space left on device")).path is None
