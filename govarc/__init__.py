"""govarc: signed, metadata-rich archival packages for government electronic records."""

from __future__ import annotations

__version__ = "0.1.0"
PROFILE_VERSION = "1"
PROFILE_IDENTIFIER = "urn:govarc:package-profile:1"
