"""Page layout after GB/T 9704-2012 (simplified): one list of drawing operations per page.

The PDF, OFD and scan writers each draw the same operations, so the three look alike. Positions
are millimetres from the top-left corner of an A4 page.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

from .corpus import Attachment, Doc, cn_date

# GB/T 9704-2012 page geometry, in millimetres, origin at the top-left corner of an A4 page.
PAGE_W, PAGE_H = 210.0, 297.0
LEFT, TOP, TEXT_W = 28.0, 37.0, 156.0
BOTTOM = 262.0  # bottom edge of the type area (版心)
PT = 25.4 / 72  # millimetres per point
BODY_PT = 15.0  # 三号 is 16 pt; slightly smaller so a one-page notice fits with its 版记
LINE = 7.8  # line pitch of the body
RED = (0.85, 0.08, 0.08)
BLACK = (0.0, 0.0, 0.0)
TZ = dt.timezone(dt.timedelta(hours=8))  # the city keeps China Standard Time
# Where a format wants a timestamp that is not the document's (ZIP entries, the ICC profile).
FIXED_TIME = (2024, 1, 1, 0, 0, 0)


def em(text: str) -> float:
    """Width of ``text`` in ems: CJK and full-width punctuation 1, Latin letters and digits 0.5."""
    return sum(0.5 if ord(c) < 0x2000 else 1.0 for c in text)


_NO_LINE_START = set("，。、；：？！）》」』〕”’…%")


def wrap(text: str, width_em: float, first_indent: float = 0.0) -> list[str]:
    """Break CJK text into lines of at most ``width_em`` (closing punctuation may hang)."""
    lines: list[str] = []
    cur, w = "", first_indent
    for token in re.findall(r"[A-Za-z0-9.%]+|.", text):  # numbers are not split across lines
        cw = em(token)
        if w + cw > width_em + 1e-6 and cur and token[0] not in _NO_LINE_START:
            lines.append(cur)
            cur, w = "", 0.0
        cur += token
        w += cw
    if cur:
        lines.append(cur)
    return lines



@dataclass(frozen=True)
class Text:
    x: float  # left edge (or the centre when ``centre``), mm
    y: float  # baseline, mm from the top
    text: str
    pt: float
    color: tuple[float, float, float] = BLACK
    centre: bool = False
    angle: float = 0.0  # degrees counter-clockwise, around (x, y) as the glyph centre


@dataclass(frozen=True)
class Rule:
    x1: float
    y1: float
    x2: float
    y2: float
    width: float = 0.35
    color: tuple[float, float, float] = BLACK


@dataclass(frozen=True)
class Seal:
    cx: float
    cy: float
    r: float
    organ: str


Op = Text | Rule | Seal


@dataclass
class Pages:
    pages: list[list[Op]] = field(default_factory=lambda: [[]])
    y: float = TOP

    def add(self, op: Op) -> None:
        self.pages[-1].append(op)

    def new_page(self) -> None:
        self.pages.append([])
        self.y = TOP + LINE

    def need(self, height: float, limit: float = BOTTOM) -> None:
        if self.y + height > limit:
            self.new_page()


def _centred(text: str, pt: float, y: float, color: tuple[float, float, float] = BLACK) -> Text:
    w = em(text) * pt * PT
    return Text(LEFT + (TEXT_W - w) / 2, y, text, pt, color)


def layout(doc: Doc) -> list[list[Op]]:
    """Lay a document out on A4 pages following GB/T 9704-2012 (simplified)."""
    p = Pages()
    body_em = BODY_PT * PT
    if doc.secret:
        p.add(Text(LEFT, TOP + 6, doc.secret, 16))
    if doc.urgency:
        p.add(Text(LEFT, TOP + (14 if doc.secret else 6), doc.urgency, 16))
    # 发文机关标志 (red), centred; 函 carry no 文件
    y = TOP + (36 if doc.signatory else 22)
    if len(doc.mark) == 1:
        mark = doc.mark[0] + ("" if doc.is_letter else "文件")
        pt = min(34.0, TEXT_W / em(mark) / PT)
        p.add(_centred(mark, pt, y, RED))
    else:
        pt = 28.0
        widest = max(em(m) for m in doc.mark) * pt * PT
        x0 = LEFT + (TEXT_W - widest - 2 * pt * PT - 4) / 2
        for i, organ in enumerate(doc.mark):
            p.add(Text(x0, y + i * 12, organ, pt, RED))
        p.add(Text(x0 + widest + 4, y + (len(doc.mark) - 1) * 6, "文件", pt, RED))
        y += (len(doc.mark) - 1) * 12
    # 发文字号 (and 签发人 for 上行文), then the red separator
    y += 16
    if doc.signatory:
        p.add(Text(LEFT + body_em, y, doc.number, 16))
        sign = f"签发人：{doc.signatory}"
        p.add(Text(LEFT + TEXT_W - body_em - em(sign) * 16 * PT, y, sign, 16))
    else:
        p.add(_centred(doc.number, 16, y))
    y += 5
    p.add(Rule(LEFT, y, LEFT + TEXT_W, y, 0.6, RED))
    # 标题
    y += 14
    for line in wrap(doc.title, TEXT_W / (22 * PT) - 2):
        p.add(_centred(line, 22, y))
        y += 10
    # 主送机关
    y += 3
    p.y = y
    p.add(Text(LEFT, p.y, doc.addressee, BODY_PT))
    p.y += LINE
    width = TEXT_W / body_em
    for para in doc.body:
        for i, line in enumerate(wrap(para, width, first_indent=2)):
            p.need(0)
            p.add(Text(LEFT + (2 * body_em if i == 0 else 0), p.y, line, BODY_PT))
            p.y += LINE
    # 附件说明
    if doc.attachments:
        p.y += LINE
        for i, att in enumerate(doc.attachments):
            p.need(0)
            name = att.title if len(doc.attachments) == 1 else f"{i + 1}．{att.title}"
            lead = "附件：" if i == 0 else ""
            x = LEFT + 2 * body_em + (0 if i == 0 else 3 * body_em)
            for j, line in enumerate(wrap(lead + name, width - 5)):
                p.add(Text(x + (0 if j == 0 else (3 * body_em if i == 0 else 2 * body_em)), p.y, line, BODY_PT))
                p.y += LINE
    # 发文机关署名, 成文日期, 印章
    p.y += LINE * 1.6
    p.need(LINE * 2)
    date_text = cn_date(doc.date)
    date_x = LEFT + TEXT_W - 4 * body_em - em(date_text) * body_em
    date_cx = date_x + em(date_text) * body_em / 2
    signer_y = p.y
    if len(doc.signers) == 1:
        s = doc.signers[0]
        p.add(Text(date_cx - em(s) * body_em / 2, signer_y, s, BODY_PT))
        seals = [(date_cx, s)]
    else:
        xs = [LEFT + TEXT_W * (i + 0.5) / len(doc.signers) for i in range(len(doc.signers))]
        seals = []
        for x, s in zip(xs, doc.signers):
            p.add(Text(x - em(s) * body_em / 2, signer_y, s, BODY_PT))
            seals.append((x, s))
    p.y += LINE
    p.add(Text(date_x, p.y, date_text, BODY_PT))
    seal_page = len(p.pages) - 1
    # 附注
    if doc.classification == "公开":
        p.y += LINE
        p.add(Text(LEFT + 2 * body_em, p.y, "（此件公开发布）", BODY_PT))
    # 版记: 抄送 and 印发机关/印发日期 at the foot of the last page
    foot = 24 if doc.cc else 14
    if p.y + 4 > BOTTOM - foot:
        p.new_page()
    fy = BOTTOM - foot + 4
    p.add(Rule(LEFT, fy, LEFT + TEXT_W, fy, 0.5))
    if doc.cc:
        for line in wrap("抄送：" + doc.cc, TEXT_W / (14 * PT) - 2):
            p.add(Text(LEFT + 14 * PT, fy + 7, line, 14))
        fy += 10
        p.add(Rule(LEFT, fy, LEFT + TEXT_W, fy, 0.25))
    printed = f"{cn_date(doc.date)}印发"
    p.add(Text(LEFT + 14 * PT, fy + 7, doc.print_organ, 14))
    p.add(Text(LEFT + TEXT_W - 14 * PT - em(printed) * 14 * PT, fy + 7, printed, 14))
    fy += 10
    p.add(Rule(LEFT, fy, LEFT + TEXT_W, fy, 0.5))
    # 页码, then the seals last (so that text extraction meets them at the end)
    for i, page in enumerate(p.pages):
        num = f"— {i + 1} —"
        x = LEFT + TEXT_W - 2 * PT * 14 - em(num) * 14 * PT if i % 2 == 0 else LEFT + 14 * PT
        page.append(Text(x, BOTTOM + 10, num, 14))
    for cx, organ in seals:
        p.pages[seal_page].append(Seal(cx, signer_y + 1, 20.0, organ))
    return p.pages


def layout_attachment(doc: Doc, index: int, att: Attachment) -> list[list[Op]]:
    """An attachment page: 附件 N at the top left, its title, then a table or paragraphs."""
    p = Pages()
    label = "附件" if len(doc.attachments) == 1 else f"附件{index + 1}"
    p.add(Text(LEFT, TOP + 6, label, 16))
    y = TOP + 22
    for line in wrap(att.title, TEXT_W / (20 * PT) - 2):
        p.add(_centred(line, 20, y))
        y += 10
    p.y = y + 4
    if att.rows:
        ncol = len(att.rows[0])
        weights = [max(em(r[c]) for r in att.rows) + 1 for c in range(ncol)]
        total = sum(weights)
        widths = [TEXT_W * w / total for w in weights]
        row_h = 9.0
        top = p.y - 6
        for r, row in enumerate(att.rows):
            x = LEFT
            for c, cell in enumerate(row):
                pt = 12 if r else 13
                w = em(cell) * pt * PT
                p.add(Text(x + (widths[c] - w) / 2, top + r * row_h + 6.2, cell, pt))
                x += widths[c]
        bottom = top + len(att.rows) * row_h
        for r in range(len(att.rows) + 1):
            p.add(Rule(LEFT, top + r * row_h, LEFT + TEXT_W, top + r * row_h, 0.3))
        x = LEFT
        for c in range(ncol + 1):
            p.add(Rule(x, top, x, bottom, 0.3))
            if c < ncol:
                x += widths[c]
    else:
        body_em = BODY_PT * PT
        for para in att.paragraphs:
            for i, line in enumerate(wrap(para, TEXT_W / body_em, first_indent=2)):
                p.need(0)
                p.add(Text(LEFT + (2 * body_em if i == 0 else 0), p.y, line, BODY_PT))
                p.y += LINE
    for i, page in enumerate(p.pages):
        num = f"— {i + 1} —"
        page.append(Text(LEFT + TEXT_W - 2 * PT * 14 - em(num) * 14 * PT, BOTTOM + 10, num, 14))
    return p.pages


def star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """A five-pointed star's ten vertices (mm, y down), one point up."""
    pts = []
    for i in range(10):
        rad = r if i % 2 == 0 else r * 0.382
        a = math.radians(90 + 36 * i)
        pts.append((cx + rad * math.cos(a), cy - rad * math.sin(a)))
    return pts


def seal_chars(seal: Seal) -> list[tuple[float, float, float, str]]:
    """(x, y, rotation, char) for the organ name set along the top of the seal's ring."""
    n = len(seal.organ)
    span = min(250.0, 28.0 * n)
    ring = seal.r - 4.8
    out = []
    for i, ch in enumerate(seal.organ):
        theta = 90 + span / 2 - (span * (i + 0.5) / n)
        a = math.radians(theta)
        out.append((seal.cx + ring * math.cos(a), seal.cy - ring * math.sin(a), theta - 90, ch))
    return out


def creation_time(doc: Doc) -> dt.datetime:
    """The creation date every format records for a document: 09:00 on its 成文日期."""
    return dt.datetime.combine(doc.date, dt.time(9, 0), TZ)
