"""The applications export as a real PDF (fpdf2), in DejaVu Sans: fpdf2's core fonts have no
Cyrillic, and the names, kinds and statuses are Russian. The font is vendored under
static/fonts/ (Bitstream Vera licence, DejaVuSans-LICENSE.txt) so no system font is needed."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fpdf import FPDF

FONT = Path(__file__).parent / "static" / "fonts" / "DejaVuSans.ttf"

#: (header key, width in mm) of the table on landscape A4 (277 mm usable)
COLUMNS = (("app.number", 70), ("pt.inn", 26), ("app.domain", 28), ("app.kind", 57),
           ("status", 28), ("app.created", 34), ("app.updated", 34))
TABLE_FONT = 8  # pt; a registration number too wide for its column at this size is set smaller


def applications(rows: list, filters: dict[str, str], now: datetime, words) -> bytes:
    """``rows``: storage.console.ApplicationRow; ``words``: key -> text in the page's language."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(words("app.pdf_title"))
    pdf.set_creator("smev-gateway console")
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("DejaVu", size=16)
    pdf.cell(0, 10, words("app.pdf_title"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=9)
    shown = ", ".join(f"{k}={v}" for k, v in filters.items() if v) or words("none")
    pdf.cell(0, 6, f"{words('app.pdf_filters')}: {shown}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, f"{words('app.pdf_generated')}: {now:%Y-%m-%d %H:%M} UTC · "
                   f"{words('total')}: {len(rows)}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    def header() -> None:
        pdf.set_fill_color(230, 230, 230)
        for key, width in COLUMNS:
            pdf.cell(width, 7, _fit(pdf, words(key), width - 2), border=1, fill=True)
        pdf.ln()

    pdf.set_font("DejaVu", size=TABLE_FONT)
    header()
    for row in rows:
        if pdf.will_page_break(6):
            pdf.add_page()
            header()
        number_width = COLUMNS[0][1]
        pdf.set_font_size(_size_to_fit(pdf, row.registration_number, number_width - 2))
        pdf.cell(number_width, 6, row.registration_number, border=1)
        pdf.set_font_size(TABLE_FONT)
        rest = (row.organisation_inn, row.domain, row.kind, row.status,
                f"{row.created_at:%Y-%m-%d %H:%M}", f"{row.updated_at:%Y-%m-%d %H:%M}")
        for (_, width), value in zip(COLUMNS[1:], rest):
            pdf.cell(width, 6, _fit(pdf, str(value), width - 2), border=1)
        pdf.ln()
    return bytes(pdf.output())


def _size_to_fit(pdf: FPDF, text: str, width: float) -> float:
    """The table's font size, or a smaller one at which ``text`` fits ``width`` whole: a
    registration number is what a reader looks up, so it is never cut. Its 26 base32 letters
    vary in width (W is 2.8 mm at 8 pt, I 0.8 mm): most numbers fit at 8 pt, one of only W
    needs 6.2 pt."""
    wide = pdf.get_string_width(text)  # at the current size (TABLE_FONT); widths scale with it
    if wide <= width:
        return TABLE_FONT
    return TABLE_FONT * width / wide * 0.995  # a hair smaller: no rounding may tip it over


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """Cut ``text`` with an ellipsis to fit the column (a cell does not wrap)."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"
