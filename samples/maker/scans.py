"""Scans (pillow): a rendered page, greyscale, with a little skew and dust, as JPEG or bi-level
TIFF; and the seal as a PNG for the DOCX documents. Needs the CJK TrueType font's path.
"""

from __future__ import annotations

import io
import random
from typing import TYPE_CHECKING

from .corpus import Doc
from .layout import BLACK, PAGE_H, PAGE_W, PT, Rule, Seal, Text, layout, seal_chars, star

if TYPE_CHECKING:
    from PIL.Image import Image
    from PIL.ImageFont import FreeTypeFont


def seal_png(organ: str, ttf: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    scale = 8  # px per mm
    r = 20.0
    size = int((2 * r + 2) * scale)
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    red = (217, 20, 20, 255)
    seal = Seal(r + 1, r + 1, r, organ)
    c = (r + 1) * scale
    d.ellipse([c - r * scale, c - r * scale, c + r * scale, c + r * scale], outline=red, width=int(1.0 * scale))
    d.polygon([(x * scale, y * scale) for x, y in star(r + 1, r + 1, 5.5)], fill=red)
    font = ImageFont.truetype(ttf, int(12 * PT * scale), index=0)
    for x, y, angle, ch in seal_chars(seal):
        _paste_rotated(img, ch, font, x * scale, y * scale, angle, red)
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def _paste_rotated(img: Image, ch: str, font: FreeTypeFont, x: float, y: float, angle: float,
                   fill: int | tuple[int, ...]) -> None:
    from PIL import Image, ImageDraw

    side = int(font.size * 1.6)
    glyph = Image.new("L", (side, side), 0)
    ImageDraw.Draw(glyph).text((side / 2, side / 2), ch, font=font, fill=255, anchor="mm")
    glyph = glyph.rotate(angle, resample=Image.Resampling.BICUBIC)
    colour = Image.new(img.mode, (side, side), fill)
    img.paste(colour, (int(x - side / 2), int(y - side / 2)), glyph)



def render_scan(doc: Doc, ttf: str, width_px: int = 600) -> Image:
    from PIL import Image, ImageDraw, ImageFont

    s = width_px / PAGE_W
    height_px = int(round(PAGE_H * s))
    img = Image.new("L", (width_px, height_px), 246)
    d = ImageDraw.Draw(img)
    fonts: dict[int, FreeTypeFont] = {}

    def font(pt: float) -> FreeTypeFont:
        px = max(6, int(round(pt * PT * s)))
        if px not in fonts:
            fonts[px] = ImageFont.truetype(ttf, px, index=0)
        return fonts[px]

    def grey(color: tuple[float, float, float]) -> int:
        return 110 if color != BLACK else 30

    ops = layout(doc)[0]
    for op in ops:
        if isinstance(op, Text):
            d.text((op.x * s, op.y * s), op.text, font=font(op.pt), fill=grey(op.color), anchor="ls")
        elif isinstance(op, Rule):
            d.line([(op.x1 * s, op.y1 * s), (op.x2 * s, op.y2 * s)], fill=grey(op.color),
                   width=max(1, round(op.width * s)))
        elif isinstance(op, Seal):
            r = op.r * s
            d.ellipse([op.cx * s - r, op.cy * s - r, op.cx * s + r, op.cy * s + r], outline=120, width=max(2, round(s)))
            d.polygon([(x * s, y * s) for x, y in star(op.cx, op.cy, 5.5)], fill=120)
            for x, y, angle, ch in seal_chars(op):
                _paste_rotated(img, ch, font(12), x * s, y * s, angle, 120)
    rng = random.Random(doc.number)
    for _ in range(220):
        x, y = rng.randrange(width_px), rng.randrange(height_px)
        d.point((x, y), fill=rng.randrange(90, 200))
    img = img.rotate(rng.uniform(-0.6, 0.6), resample=Image.Resampling.BICUBIC, fillcolor=246)
    return img


def make_jpeg(doc: Doc, ttf: str) -> bytes:
    img = render_scan(doc, ttf)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=60, optimize=True, dpi=(72, 72))
    return out.getvalue()


def make_tiff(doc: Doc, ttf: str) -> bytes:
    img = render_scan(doc, ttf, width_px=850)
    bw = img.point(lambda v: 255 if v > 170 else 0, mode="1")
    out = io.BytesIO()
    bw.save(out, "TIFF", compression="group4", dpi=(103, 103))
    return out.getvalue()
