"""The fonts: reportlab's CID font for ordinary PDFs, and a CJK TrueType font to embed in the
PDF/A samples and to draw the scans and seals with.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from . import MakerError
from .pdf import CID_FONT, EMBEDDED_FONT

# Where Debian's CJK TrueType font packages put their files; else fontconfig is asked. The font
# needs TrueType outlines (reportlab cannot subset CFF-based fonts such as Noto Sans CJK). The
# committed samples were made with the first (Debian's fonts-wqy-microhei 0.2.0-beta-3.1).
CJK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
)


def find_cjk_font(explicit: Path | None = None) -> Path:
    """The CJK TrueType font to use: ``explicit`` if given, else the first one installed."""
    if explicit is not None:
        if not explicit.is_file():
            raise MakerError(f"{explicit}: no such font file")
        return explicit
    for path in CJK_FONTS:
        if path.is_file():
            return path
    try:
        listed = subprocess.run(["fc-list", ":lang=zh:fontformat=TrueType", "file"], capture_output=True,
                                text=True, check=False, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        listed = ""
    found = sorted(line.split(":")[0].strip() for line in listed.splitlines() if line.strip())
    if found:
        return Path(found[0])
    raise MakerError(
        "no CJK TrueType font found (needed to embed a font in the PDF/A samples and to draw the scans); "
        "install one, e.g. `apt-get install fonts-wqy-microhei`. Looked for: "
        + ", ".join(str(p) for p in CJK_FONTS)
    )


def register_fonts(ttf: Path) -> None:
    """Register the CID font and ``ttf`` (as ``EMBEDDED_FONT``) with reportlab."""
    try:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont
        from reportlab.pdfbase.ttfonts import TTFont
    except ImportError as e:
        raise MakerError(f"{e}; install the samples extra: .venv/bin/pip install -e '.[samples]'") from None
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    try:
        pdfmetrics.registerFont(TTFont(EMBEDDED_FONT, str(ttf), subfontIndex=0))
    except Exception as e:  # reportlab raises TTFError and others for fonts it cannot embed
        raise MakerError(f"{ttf}: cannot use it as the embedded CJK font: {e}") from None
