"""The transfer documents (api9 contract) the acceptance flow uses, from ``govarc.transfer``.

While ``govarc/transfer/documents.py`` is not merged, :mod:`govarc.accept._interim_documents`
stands in with the same names (delete it and this fallback after the merge).
"""

from __future__ import annotations

try:
    from govarc.transfer.documents import (  # type: ignore[import-not-found, unused-ignore]
        Check,
        CheckResult,
        ListedPackage,
        PackageVerdict,
        Receipt,
        TransferList,
        Verdict,
        receipt_from_xml,
        receipt_to_xml,
        sign_document,
        transfer_list_from_xml,
        transfer_list_to_xml,
        verify_document,
    )
    from govarc.transfer.render import receipt_html  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - until the documents branch is merged
    from govarc.accept._interim_documents import (  # type: ignore[assignment, unused-ignore]
        Check,
        CheckResult,
        ListedPackage,
        PackageVerdict,
        Receipt,
        TransferList,
        Verdict,
        receipt_from_xml,
        receipt_html,
        receipt_to_xml,
        sign_document,
        transfer_list_from_xml,
        transfer_list_to_xml,
        verify_document,
    )

__all__ = [
    "Check", "CheckResult", "ListedPackage", "PackageVerdict", "Receipt", "TransferList", "Verdict",
    "receipt_from_xml", "receipt_html", "receipt_to_xml", "sign_document", "transfer_list_from_xml",
    "transfer_list_to_xml", "verify_document",
]
