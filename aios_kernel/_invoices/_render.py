"""An issued invoice (or credit note) as HTML and as a PDF page (reportlab, fonts embedded).

Both are drawn from the stored document alone; the numbers are the ledger's,
written as text, never recomputed or reformatted beyond a thousands separator.
"""

from __future__ import annotations

import html as _html
from collections.abc import Mapping
from typing import Any

from ._tax import decimal

COUNTRIES = {"DE": "Germany", "NL": "Netherlands", "NO": "Norway", "GB": "United Kingdom", "AT": "Austria", "FR": "France",
             "EE": "Estonia", "BE": "Belgium", "DK": "Denmark", "SE": "Sweden", "ES": "Spain", "IT": "Italy", "CH": "Switzerland"}


def amount(value: Any) -> str:
    """``1234.5`` as ``1,234.50`` (the sign kept)."""
    return f"{decimal(value):,.2f}"


def title(doc: Mapping[str, Any]) -> str:
    return ("CREDIT NOTE" if doc["kind"] == "credit_note" else "INVOICE") + f" {doc['number']}"


def _party_lines(p: Mapping[str, Any]) -> list[str]:
    lines = [p.get("name", "")]
    if p.get("address"):
        lines.append(p["address"])
    city = " ".join(x for x in (p.get("postcode", ""), p.get("city", "")) if x)
    country = COUNTRIES.get(str(p.get("country", "")).upper(), p.get("country", ""))
    lines.append(", ".join(x for x in (city, country) if x))
    return [ln for ln in lines if ln]


def _facts(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    facts = [("Invoice date", doc["issue_date"])]
    if doc["kind"] == "credit_note":
        facts.append(("Credits invoice", f"{doc['credit_of']['number']} of {doc['credit_of']['issue_date']}"))
    else:
        facts.append(("Due date", doc["due_date"]))
    if doc.get("period"):
        facts.append(("Period", doc["period"]))
    if doc.get("project"):
        facts.append(("Project", f"{doc['project']} {doc.get('project_name', '')}".strip()))
    if doc.get("po"):
        facts.append(("Your reference", doc["po"]))
    if doc["tax"].get("buyer_vat_id"):
        facts.append(("Your VAT id", doc["tax"]["buyer_vat_id"]))
    return facts


def _vat_label(doc: Mapping[str, Any]) -> str:
    tax = doc["tax"]
    return {"AE": "VAT 0% (reverse charge)", "O": "VAT (not subject)"}.get(tax["category"], f"VAT {tax['rate']}%")


def _payment(doc: Mapping[str, Any]) -> str:
    s = doc["seller"]
    if doc["kind"] == "credit_note":
        return f"This credit note cancels invoice {doc['credit_of']['number']}" + (f": {doc['reason']}" if doc.get("reason") else ".")
    iban = " ".join(s["iban"][i:i + 4] for i in range(0, len(s["iban"]), 4)) if s.get("iban") else ""
    bank = " · ".join(x for x in (s.get("bank"), iban and f"IBAN {iban}", s.get("bic") and f"BIC {s['bic']}") if x)
    return (f"Please pay {amount(doc['total'])} {doc['currency']} by {doc['due_date']} by bank transfer, quoting {doc['number']}."
            + (f" {bank}." if bank else ""))


def _seller_ids(doc: Mapping[str, Any]) -> str:
    s = doc["seller"]
    ids = [f"VAT id {s['vat_id']}" if s.get("vat_id") else "", f"Tax no. {s['tax_number']}" if s.get("tax_number") else ""]
    return " · ".join(x for x in ids if x)


def html(doc: Mapping[str, Any]) -> str:
    """A standalone HTML page of the document (everything escaped)."""
    e = _html.escape
    rows = "".join(f"<tr><td>{e(ln['date'])}</td><td>{e(ln['description'])}</td><td class='n'>{e(ln['hours'])}</td>"
                   f"<td class='n'>{amount(ln['rate'])}</td><td class='n'>{amount(ln['amount'])}</td></tr>" for ln in doc["lines"])
    facts = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _facts(doc))
    note = f"<p class='note'>{e(doc['tax']['note'])}</p>" if doc["tax"].get("note") else ""
    cur = e(doc["currency"])
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{e(title(doc))}</title><style>body{{font-family:sans-serif;max-width:48em;margin:2em auto}}"
        "td.n,th.n{text-align:right}table{border-collapse:collapse;width:100%}td,th{padding:.2em .4em;text-align:left}"
        ".lines td,.lines th{border-bottom:1px solid #ccc}.note{font-style:italic}</style></head><body>"
        f"<p><b>{e(doc['seller']['name'])}</b><br>{'<br>'.join(map(e, _party_lines(doc['seller'])[1:]))}<br>"
        f"{e(_seller_ids(doc))}</p><h1>{e(title(doc))}</h1>"
        f"<p><b>Bill to</b><br>{'<br>'.join(map(e, _party_lines(doc['buyer'])))}</p><table>{facts}</table>"
        "<table class='lines'><tr><th>Date</th><th>Activity</th><th class='n'>Hours</th><th class='n'>Rate</th>"
        f"<th class='n'>Amount ({cur})</th></tr>{rows}</table><table>"
        f"<tr><td></td><th class='n'>Net</th><td class='n'>{amount(doc['net'])} {cur}</td></tr>"
        f"<tr><td></td><th class='n'>{e(_vat_label(doc))}</th><td class='n'>{amount(doc['vat'])} {cur}</td></tr>"
        f"<tr><td></td><th class='n'>Total</th><td class='n'><b>{amount(doc['total'])} {cur}</b></td></tr></table>"
        f"{note}<p>{e(_payment(doc))}</p></body></html>")


_FONTS: list[str] = []


def _fonts() -> tuple[str, str]:
    """Bitstream Vera (shipped with reportlab), embedded in the PDF as PDF/A asks."""
    if not _FONTS:
        import os

        import reportlab
        from reportlab.lib.fonts import addMapping
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        folder = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
        pdfmetrics.registerFont(TTFont("AiosVera", os.path.join(folder, "Vera.ttf")))
        pdfmetrics.registerFont(TTFont("AiosVeraBold", os.path.join(folder, "VeraBd.ttf")))
        for bold, italic, face in ((0, 0, "AiosVera"), (1, 0, "AiosVeraBold"), (0, 1, "AiosVera"), (1, 1, "AiosVeraBold")):
            addMapping("AiosVera", bold, italic, face)  # <b> in a paragraph picks the bold face
        _FONTS.extend(["AiosVera", "AiosVeraBold"])
    return _FONTS[0], _FONTS[1]


def pdf(doc: Mapping[str, Any]) -> bytes:
    """One A4 page (more for long invoices): the same content as :func:`html`."""
    import io

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    regular, bold = _fonts()
    e = _html.escape
    body = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=13)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10.5, textColor=colors.HexColor("#444444"))
    head = ParagraphStyle("head", parent=body, fontName=bold, fontSize=17, leading=22, spaceBefore=6, spaceAfter=8)
    strong = ParagraphStyle("strong", parent=body, fontName=bold)
    out = io.BytesIO()
    page = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm, bottomMargin=18 * mm,
                             title=title(doc), author=doc["seller"]["name"], subject=f"{title(doc)} to {doc['client']}",
                             creator="AIOS Workbench", invariant=1)
    seller = doc["seller"]
    story: list[Any] = [
        Paragraph(f"<b>{e(seller['name'])}</b>" + "".join(f"<br/>{e(x)}" for x in _party_lines(seller)[1:])
                  + (f"<br/>{e(seller['email'])}" if seller.get("email") else ""), body),
        Paragraph(e(_seller_ids(doc)), small), Spacer(1, 8 * mm), Paragraph(e(title(doc)), head)]
    bill = Paragraph("<b>Bill to</b><br/>" + "<br/>".join(e(x) for x in _party_lines(doc["buyer"])),
                     ParagraphStyle("b", parent=body, fontName=regular))
    facts = Table([[Paragraph(e(k), small), Paragraph(e(v), body)] for k, v in _facts(doc)], colWidths=[30 * mm, 55 * mm])
    facts.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    top = Table([[bill, facts]], colWidths=[85 * mm, 85 * mm])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story += [top, Spacer(1, 8 * mm)]
    cur = doc["currency"]
    data = [["Date", "Activity", "Hours", "Rate", f"Amount ({cur})"]]
    data += [[ln["date"], Paragraph(e(ln["description"]), body), ln["hours"], amount(ln["rate"]), amount(ln["amount"])]
             for ln in doc["lines"]]
    lines = Table(data, colWidths=[22 * mm, 84 * mm, 16 * mm, 20 * mm, 28 * mm], repeatRows=1)
    lines.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), regular), ("FONTNAME", (0, 0), (-1, 0), bold), ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("ALIGN", (2, 0), (-1, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black), ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#bbbbbb"))]))
    sums = Table([["Net", f"{amount(doc['net'])} {cur}"], [_vat_label(doc), f"{amount(doc['vat'])} {cur}"],
                  ["Total", f"{amount(doc['total'])} {cur}"]], colWidths=[50 * mm, 36 * mm], hAlign="RIGHT")
    sums.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), regular), ("FONTNAME", (0, 2), (-1, 2), bold),
                              ("FONTSIZE", (0, 0), (-1, -1), 9.5), ("ALIGN", (0, 0), (-1, -1), "RIGHT"),
                              ("LINEABOVE", (0, 2), (-1, 2), 0.8, colors.black)]))
    story += [lines, Spacer(1, 4 * mm), sums, Spacer(1, 6 * mm)]
    if doc["tax"].get("note"):
        story.append(Paragraph(e(doc["tax"]["note"]), strong))
        story.append(Spacer(1, 3 * mm))
    story += [Paragraph(e(_payment(doc)), body), Spacer(1, 3 * mm),
              Paragraph("This PDF carries its EN 16931 e-invoice (Factur-X, factur-x.xml) as an embedded file.", small)]
    page.build(story)
    return out.getvalue()
