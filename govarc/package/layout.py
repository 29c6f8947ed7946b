"""Names fixed by the govarc package profile, version 1 (specs/package-profile.md)."""

from __future__ import annotations

from govarc import PROFILE_IDENTIFIER

BAGIT_TXT = "bagit.txt"
BAG_INFO = "bag-info.txt"
DATA_DIR = "data"
RECORD_XML = "metadata/record.xml"
SIGNATURES_DIR = "signatures"
MANIFEST_PREFIX = "manifest-"
TAGMANIFEST_PREFIX = "tagmanifest-"
REQUIRED_MANIFEST = "manifest-sha256.txt"
REQUIRED_TAGMANIFEST = "tagmanifest-sha256.txt"

SUPPORTED_PROFILES = (PROFILE_IDENTIFIER,)

REQUIRED_BAG_INFO = (
    "Source-Organization",
    "Source-Organization-Identifier",
    "External-Identifier",
    "Bagging-Date",
    "Payload-Oxum",
    "BagIt-Profile-Identifier",
)


def is_manifest(name: str) -> bool:
    return name.startswith(MANIFEST_PREFIX) and name.endswith(".txt") and "/" not in name


def is_tagmanifest(name: str) -> bool:
    return name.startswith(TAGMANIFEST_PREFIX) and name.endswith(".txt") and "/" not in name


def is_signature(name: str) -> bool:
    return name.startswith(SIGNATURES_DIR + "/")


def is_payload(name: str) -> bool:
    return name.startswith(DATA_DIR + "/")
