"""The console's drawings on their own: the hourly buckets and the SVG of the dashboard, the
envelope view's signed-part marker, and a PDF export long enough to need several pages (rendered
with pypdfium2: a real PDF, the Cyrillic text extractable, the header repeated on each page)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from lxml import etree

from gateway.console import charts, i18n, pdf, xmlview
from gateway.storage.console import ApplicationRow

NOW = datetime(2026, 12, 6, 12, 30, tzinfo=timezone.utc)


def test_hour_starts_are_the_last_24_clock_hours():
    starts = charts.hour_starts(NOW)
    assert len(starts) == 24 and starts[-1] == datetime(2026, 12, 6, 12, tzinfo=timezone.utc)
    assert starts[0] == datetime(2026, 12, 5, 13, tzinfo=timezone.utc)


def test_hourly_series_keep_the_window_and_put_the_biggest_first():
    starts = charts.hour_starts(NOW)
    counts = {"Ack": {starts[-1]: 1}, "SendRequest": {starts[-1]: 2, starts[-2]: 1},
              "GetRequest": {starts[0] - timedelta(hours=1): 5}}  # outside the window
    series = charts.hourly(counts, starts)
    assert list(series) == ["SendRequest", "Ack"]
    assert series["SendRequest"][-2:] == [1, 2] and sum(series["Ack"]) == 1


def test_the_chart_is_well_formed_svg_with_a_title_and_totals():
    starts = charts.hour_starts(NOW)
    series = charts.hourly({"SendRequest": {starts[-1]: 7}}, starts)
    words = {"total": "total", "now": "now", "none": "no data"}
    svg = etree.fromstring(str(charts.stacked_bars("c", "Throughput <&>", starts, series, words)).encode())
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert svg.get("id") == "c" and svg.get("role") == "img"
    assert svg.find("s:title", ns).text == "Throughput <&>"  # escaped in, read back as text
    assert svg.find("s:desc", ns).text == "SendRequest: 7 total"
    bars = [r for r in svg.findall("s:rect", ns) if r.find("s:title", ns) is not None]
    assert len(bars) == 1 and bars[0].find("s:title", ns).text.endswith("SendRequest: 7")
    empty = etree.fromstring(str(charts.stacked_bars("e", "t", starts, {}, words)).encode())
    assert "no data" in etree.tostring(empty, encoding="unicode")


def test_the_signed_element_is_marked_and_the_rest_escaped():
    doc = (b'<e:Env xmlns:e="urn:e" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><e:Data Id="X">'
           b'<e:V>&lt;b&gt;</e:V></e:Data><e:Sig><ds:Signature><ds:SignedInfo>'
           b'<ds:Reference URI="#X"/></ds:SignedInfo></ds:Signature></e:Sig></e:Env>')
    shown = str(xmlview.pretty(doc))
    assert shown.count('<mark class="signed">') == 1 and shown.count("</mark>") == 1
    marked = shown.split('<mark class="signed">')[1].split("</mark>")[0]
    assert "e:Data" in marked and "ds:Signature" not in marked
    assert "&amp;lt;b&amp;gt;" in marked and "<b>" not in shown  # text stays text
    assert str(xmlview.pretty(b"not <xml")) == "not &lt;xml"


def test_every_registration_number_is_whole_in_the_pdf_however_wide_its_letters():
    """The base32 letters differ in width: a number of wide ones (the CI run that found this had
    20261206-OQWUPMHRWUI7DNLDOEZHO5TTRM, 68.3 mm at 8 pt in a 68 mm cell) is set smaller,
    never cut; the widest possible, 26 W, included."""
    import pypdfium2 as pdfium
    numbers = ["20261206-OQWUPMHRWUI7DNLDOEZHO5TTRM", "20261206-" + "W" * 26,
               "20261206-" + "M" * 26, "20261206-IIIIIIIIIIIIIIIIIIIIIIIIII"]
    rows = [ApplicationRow(i, "7702123454", "reporting", "Бухгалтерская отчётность", "refused",
                           number, NOW, NOW) for i, number in enumerate(numbers)]
    document = pdfium.PdfDocument(pdf.applications(rows, {}, NOW, lambda k: i18n.translate("ru", k)))
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    for number in numbers:
        assert number in text


def test_a_long_export_is_a_real_multi_page_pdf():
    import pypdfium2 as pdfium  # pinned in the test extras: a missing renderer fails, never skips
    rows = [ApplicationRow(i, "7702123454", "registration", "Регистрация организации", "registered",
                           f"20261206-ABCDEFGHIJKLMNOPQRSTUV{i:04d}", NOW, NOW) for i in range(120)]
    data = pdf.applications(rows, {"inn": "7702123454"}, NOW, lambda k: i18n.translate("ru", k))
    document = pdfium.PdfDocument(data)
    assert len(document) >= 3
    first = document[0].get_textpage().get_text_range()
    last = document[len(document) - 1].get_textpage().get_text_range()
    # a whole registration number (35 characters, as persist.registration_number makes them)
    assert "История заявлений" in first and "20261206-ABCDEFGHIJKLMNOPQRSTUV0000" in first
    assert "Рег. номер" in last and "20261206-ABCDEFGHIJKLMNOPQRSTUV0119" in last  # header repeated

