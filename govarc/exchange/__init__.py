"""Document exchange between agencies (公文交换): envelopes, receipts, sending and supervision.

``documents`` holds the envelope (交换信封) and the exchange receipt (签收/退回回执) as XML;
``send`` publishes one package to many inboxes on the hub; ``supervise`` collects receipts and
reports who has signed for, returned or is overdue. See ``specs/envelope.md``.
"""

from __future__ import annotations
