"""The signer a package build takes: what signs the tag manifest, without knowing keys or CMS.

:func:`govarc.package.build.build_package` and the packaging of the store take any object of this
shape; :func:`govarc.sign.cms.make_signer` makes one from an agency's credentials, and tests
pass plain functions.
"""

from __future__ import annotations

from typing import Protocol


class Signer(Protocol):
    """Given the bytes of tagmanifest-sha256.txt, returns ``{file name: DER}`` to put in signatures/."""

    def __call__(self, tagmanifest: bytes, /) -> dict[str, bytes]: ...
