"""`send` marks recipients delivered in batches: a crash between a publish and its mark converges without rewrites."""

from __future__ import annotations

from pathlib import Path

import pytest

from govarc.catalog.identity import open_workspace_catalog
from govarc.exchange import send as send_module
from govarc.exchange.documents import envelope_key
from govarc.exchange.send import send
from govarc.sign.agency import workspace_policy
from govarc.transport import FolderTransport, TransportError
from govarc.transport.base import PutResult, Readable
from govarc.workspace import Workspace
from tests.exchange.sendkit import (  # noqa: F401  (fixtures)
    exchange_rows, golden_xcity, hub, hub_keys, szf_codes, szf_signer, xcity,
)

ORDER = ("CZJ", "DAJ", "GAJ")  # 市直部门 (主送) then GAJ (抄送): the order envelopes are published in


class Flaky(FolderTransport):
    """A folder hub whose puts fail after ``budget`` of them (a crash or a dropped connection)."""

    def __init__(self, root: Path, budget: int) -> None:
        super().__init__(root)
        self.budget = budget
        self.keys: list[str] = []

    def put(self, key: str, stream: Readable, size: int | None = None, sha256: str | None = None,
            **kw: object) -> PutResult:
        if self.budget <= 0:
            raise TransportError("the connection dropped", key)
        self.budget -= 1
        self.keys.append(key)
        return super().put(key, stream, size, sha256, **kw)  # type: ignore[arg-type]


# budget: puts before the crash (1 the package, then 2 per recipient: envelope, signature);
# marked: recipients marked delivered when it crashed (batches of 2); published: complete on the hub, not marked
@pytest.mark.parametrize("budget,marked,published", [
    (1, (), ()),
    (2, (), ()),  # CZJ's envelope without its signature
    (3, (), ("CZJ",)),  # CZJ complete, its mark still in the batch
    (5, ("CZJ", "DAJ"), ()),  # the first batch marked; GAJ not begun
    (6, ("CZJ", "DAJ"), ()),  # GAJ's envelope without its signature
])
def test_a_crash_between_publish_and_mark_converges_without_rewriting(xcity: Workspace, monkeypatch: pytest.MonkeyPatch,
                                                                      budget: int, marked: tuple[str, ...],
                                                                      published: tuple[str, ...]) -> None:
    monkeypatch.setattr(send_module, "DELIVERED_BATCH", 2)
    code = szf_codes(xcity)[3]
    szf, signer, policy = xcity.agency("SZF"), szf_signer(xcity), workspace_policy(xcity)
    with open_workspace_catalog(xcity) as cat:
        with pytest.raises(TransportError):
            send(xcity, cat, szf, code, Flaky(hub(xcity).root, budget), to=["市直部门"], cc=["GAJ"], signer=signer,
                 policy=policy)
        msgs, rcpts = exchange_rows(xcity)
        mid = str(msgs[0][0])
        assert [(m[0], m[9]) for m in msgs] == [(mid, "sending")]
        assert {str(r[1]): r[4] for r in rcpts} == {c: "delivered" if c in marked else "pending" for c in ORDER}
        before = {k: (hub(xcity).root / k).read_bytes() for k in hub_keys(xcity) if k.startswith("exchange/inbox/")}
        again = Flaky(hub(xcity).root, 100)
        rep = send(xcity, cat, szf, code, again, to=["市直部门"], cc=["GAJ"], signer=signer, policy=policy)
    assert rep.resumed and rep.message_id == mid
    done = set(marked) | set(published)  # what the resumed run keeps: marked, or found complete and validly signed
    assert (rep.envelopes_already, rep.envelopes_written) == (len(done), 3 - len(done))
    rewritten = {k for k in again.keys if k.startswith("exchange/inbox/")}
    assert rewritten == {envelope_key(c, mid) + s for c in ORDER if c not in done for s in ("", ".p7s")}
    for c in done:  # neither the envelope nor its signature was written again
        for s in ("", ".p7s"):
            key = envelope_key(c, mid) + s
            assert (hub(xcity).root / key).read_bytes() == before[key]
    msgs, rcpts = exchange_rows(xcity)
    assert [(m[0], m[9]) for m in msgs] == [(mid, "sent")] and {r[4] for r in rcpts} == {"delivered"}
    assert len([k for k in hub_keys(xcity) if k.startswith("exchange/objects/")]) == 1


def test_more_recipients_than_a_batch_are_all_marked(xcity: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(send_module, "DELIVERED_BATCH", 2)
    with open_workspace_catalog(xcity) as cat:
        rep = send(xcity, cat, xcity.agency("SZF"), szf_codes(xcity)[3], hub(xcity), to=["全市各委办局"],
                   signer=szf_signer(xcity), policy=workspace_policy(xcity))
    assert rep.envelopes_written == 3 and not rep.resumed
    _, rcpts = exchange_rows(xcity)
    assert sorted((str(r[1]), r[4]) for r in rcpts) == [(c, "delivered") for c in ORDER]
