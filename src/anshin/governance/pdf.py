"""The certificate as a PDF in Japanese, with its signed content embedded so that the file
alone can be verified.

The font is Noto Sans CJK (Debian: fonts-noto-cjk), subset and embedded by fpdf2 so the
PDF shows the same on any machine. The signed content travels as an attached file holding
one ASCII line, ``ANSHIN-CERTIFICATE-V1 <content> <signature>`` (both base64url), stored
uncompressed so that `anshin certificates verify` finds it without a PDF parser.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings

MARKER = b"ANSHIN-CERTIFICATE-V1"
_PAYLOAD = re.compile(MARKER + rb" ([A-Za-z0-9_=-]{1,20000}) ([A-Za-z0-9_=-]{1,200})\n")
_FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKjp-Regular.otf",
)
ATTACHMENT = "anshin-certificate.txt"


class FontMissing(RuntimeError):
    pass


def find_font() -> Path:
    """ANSHIN_CERTIFICATE_FONT, else what fontconfig gives for Noto Sans CJK JP, else the
    Debian path. A missing font is an error: a PDF without its Japanese glyphs is no
    certificate. (fc-match always answers with some font; only a CJK one will do.)"""
    if settings.CERTIFICATE_FONT:
        if Path(settings.CERTIFICATE_FONT).is_file():
            return Path(settings.CERTIFICATE_FONT)
        raise FontMissing("ANSHIN_CERTIFICATE_FONT does not name a font file.")
    for candidate in (_fc_match(), *_FONT_PATHS):
        if candidate and "cjk" in candidate.lower() and Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing(
        "No Japanese (CJK) font was found for the deletion certificate. Install the Debian "
        "package fonts-noto-cjk, or set ANSHIN_CERTIFICATE_FONT to a .ttc/.otf/.ttf file."
    )


def _fc_match() -> str:
    if shutil.which("fc-match") is None:
        return ""
    try:
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", "Noto Sans CJK JP:lang=ja"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return found.stdout.strip()


def payload_line(content_b64: str, signature_b64: str) -> bytes:
    return b" ".join([MARKER, content_b64.encode(), signature_b64.encode()]) + b"\n"


def find_payloads(data: bytes) -> list[tuple[str, str]]:
    """Every distinct embedded (content, signature) pair in a file's bytes."""
    found = {(m.group(1).decode(), m.group(2).decode()) for m in _PAYLOAD.finditer(data)}
    return sorted(found)


def _document(title: str, when: datetime) -> Any:
    """An A4 document in Japanese with the CJK font embedded (subset) as "cjk"."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(when)
    pdf.set_title(title)
    pdf.set_author(settings.CITY_NAME)
    pdf.set_lang("ja")
    font = find_font()
    options: dict[str, Any] = {"collection_font_number": 0} if font.suffix == ".ttc" else {}
    pdf.add_font("cjk", fname=str(font), **options)
    pdf.add_page()
    pdf.set_font("cjk", size=20)
    pdf.cell(0, 16, title, align="C", new_x="LMARGIN", new_y="NEXT")
    return pdf


def render(lines: list[tuple[str, str]], title: str, payload: bytes, when: datetime) -> bytes:
    """The certificate page: a title, then label/value rows, then a note on verification."""
    pdf = _document(title, when)
    pdf.set_font("cjk", size=10.5)
    for label, value in lines:
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(50, 8, label, new_x="RIGHT", new_y="TOP")
        pdf.multi_cell(0, 8, value, new_x="LMARGIN", new_y="NEXT")
    pdf.embed_file(basename=ATTACHMENT, bytes=payload, desc="anshin signed content", compress=False)
    return bytes(pdf.output())


@dataclass(frozen=True)
class Section:
    """A heading, then a table (header row and rows), or `empty` when there are no rows."""

    heading: str
    header: list[str]
    rows: list[list[str]]
    empty: str = ""


def render_report(title: str, intro: list[str], sections: list[Section], when: datetime) -> bytes:
    """A multi-page report (the council report): intro lines, then one table per section."""
    from fpdf.fonts import FontFace

    pdf = _document(title, when)
    pdf.set_font("cjk", size=10)
    for line in intro:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    heads = FontFace(emphasis="", fill_color=(225, 225, 225))
    for section in sections:
        pdf.ln(3)
        pdf.set_font("cjk", size=13)
        pdf.multi_cell(0, 9, section.heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=9)
        if not section.rows:
            pdf.multi_cell(0, 6, section.empty, new_x="LMARGIN", new_y="NEXT")
            continue
        with pdf.table(headings_style=heads, line_height=5.5) as table:
            for cells in [section.header, *section.rows]:
                row = table.row()
                for cell in cells:
                    row.cell(cell)
    return bytes(pdf.output())
