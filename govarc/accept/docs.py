"""The transfer documents (api9 contract) the acceptance flow uses, from :mod:`govarc.transfer`."""

from __future__ import annotations

from govarc.transfer.documents import (
    Check,
    CheckResult,
    ListedPackage,
    PackageVerdict,
    Receipt,
    TransferList,
    Verdict,
    receipt_from_xml,
    receipt_to_xml,
    transfer_list_from_xml,
    transfer_list_to_xml,
)
from govarc.sign.documents import sign_document, verify_document
from govarc.transfer.render import receipt_html

__all__ = [
    "Check", "CheckResult", "ListedPackage", "PackageVerdict", "Receipt", "TransferList", "Verdict",
    "receipt_from_xml", "receipt_html", "receipt_to_xml", "sign_document", "transfer_list_from_xml",
    "transfer_list_to_xml", "verify_document",
]
