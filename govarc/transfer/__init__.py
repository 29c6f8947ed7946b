"""Transfer to the archives (移交与接收): the transfer list and receipt documents, their renditions.

``documents`` holds the 移交清单 and the 接收回执 (dataclasses, XML, detached signatures);
``render`` their CSV and printable HTML renditions. See ``specs/transfer-list.md``.
"""

from __future__ import annotations
