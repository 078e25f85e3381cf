"""QR codes and the printable A4 flyer (Japanese) for posters and the 市報: one code for an
empty mail to the registration address, one for the registration page."""

from __future__ import annotations

import io
from typing import Any

import segno
from django.conf import settings
from django.urls import reverse

from anshin.governance.pdf import find_font

_QR_MM = 62.0


def registration_address() -> str:
    return f"{settings.INBOUND_REGISTER_LOCAL}@{settings.INBOUND_DOMAIN}"


def registration_mailto() -> str:
    return "mailto:" + registration_address()


def subscribe_url() -> str:
    return settings.BASE_URL + reverse("residents:subscribe")


def qr_svg(data: str) -> str:
    """An inline SVG, for the console page."""
    return str(segno.make(data, error="m").svg_inline(scale=4, title=data))


def _qr_png(data: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="png", scale=12, border=4)
    buffer.seek(0)
    return buffer


def flyer_pdf() -> bytes:
    """The flyer. Raises governance.pdf.FontMissing when no Japanese font is installed."""
    from fpdf import FPDF

    city = settings.CITY_NAME
    pdf = FPDF(format="A4")
    pdf.set_title(f"{city} 防犯・防災メール 登録のご案内")
    pdf.set_author(city)
    pdf.set_lang("ja")
    font = find_font()
    options: dict[str, Any] = {"collection_font_number": 0} if font.suffix == ".ttc" else {}
    pdf.add_font("cjk", fname=str(font), **options)
    pdf.add_page()
    _heading(pdf, city)
    _codes(pdf)
    _steps(pdf)
    return bytes(pdf.output())


def _heading(pdf: Any, city: str) -> None:
    pdf.set_font("cjk", size=26)
    pdf.cell(0, 16, f"{city} 防犯・防災メール", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=18)
    pdf.cell(0, 12, "登録のご案内（無料）", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("cjk", size=12)
    pdf.multi_cell(
        0,
        7,
        f"{city}は、防災情報（災害・避難）と防犯情報（不審者・特殊詐欺など）をメールで"
        "お届けしています。登録はいつでもでき、いつでも解除できます。"
        "お預かりするのはメールアドレスだけです。",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(6)


def _codes(pdf: Any) -> None:
    top = pdf.get_y()
    left = pdf.l_margin + 8
    right = pdf.w - pdf.r_margin - 8 - _QR_MM
    for x, data, label, text in (
        (left, registration_mailto(), "空メールを送って登録", registration_address()),
        (right, subscribe_url(), "登録ページから登録", subscribe_url()),
    ):
        pdf.set_xy(x - 8, top)
        pdf.set_font("cjk", size=14)
        pdf.cell(_QR_MM + 16, 9, label, align="C")
        pdf.image(_qr_png(data), x=x, y=top + 11, w=_QR_MM, h=_QR_MM)
        pdf.set_xy(x - 8, top + 13 + _QR_MM)
        pdf.set_font("cjk", size=10)
        pdf.multi_cell(_QR_MM + 16, 5, text, align="C")
    pdf.set_xy(pdf.l_margin, top + 30 + _QR_MM)


def _steps(pdf: Any) -> None:
    pdf.set_font("cjk", size=14)
    pdf.cell(0, 9, "空メールでの登録のしかた", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=12)
    for line in (
        "1. 左のQRコードを読み取り、件名も本文も書かずにそのまま送信してください。",
        "2. 折り返し届くメールのリンクを開いてください。",
        "3. 受け取りたい情報を選び、「登録する」ボタンを押すと登録が完了します。",
        f"※ 迷惑メール対策をしている方は、{settings.MAIL_FROM} と "
        f"{registration_address()} からのメールを受信できるように設定してください。",
    ):
        pdf.multi_cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("cjk", size=11)
    pdf.multi_cell(
        0, 6, f"お問い合わせ先：{settings.INQUIRY_CONTACT}", new_x="LMARGIN", new_y="NEXT"
    )
