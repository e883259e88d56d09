"""Issued documents: the Factur-X PDF with its XML embedded, the XML valid against the schema and the EN 16931 rules."""

from __future__ import annotations

import io
import os
import stat

import pytest

from tests.invoices.conftest import draft


@pytest.fixture(scope="module")
def schematron():
    """The EN 16931 business rules (the Factur-X schematron the factur-x package ships), run by Saxon-HE."""
    import facturx
    from saxonche import PySaxonProcessor

    folder = os.path.join(os.path.dirname(facturx.__file__), "xsd_and_schematron", "facturx-en16931")
    proc = PySaxonProcessor(license=False)
    compiled = proc.new_xslt30_processor().compile_stylesheet(stylesheet_file=os.path.join(folder, "FACTUR-X_EN16931.xslt"))

    def failures(path: str) -> list[str]:
        from lxml import etree

        report = etree.fromstring(compiled.transform_to_string(source_file=path).encode())
        ns = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
        assert report.findall(".//svrl:fired-rule", ns), "the rules did not run"
        return [f"{f.get('id')}: {' '.join((f.findtext('svrl:text', namespaces=ns) or '').split())}"
                for f in report.findall(".//svrl:failed-assert", ns) if f.get("flag") != "warning"]

    yield failures
    del proc


def test_each_vat_case_and_a_credit_note_render_valid_facturx(ledger_wb, schematron) -> None:
    import facturx
    from pypdf import PdfReader

    inv = ledger_wb.invoices
    receipts = [inv.issue("k-de", draft("2026-10-DE", po="PO-4388")),
                inv.issue("k-nl", draft("2026-10-NL", country="NL", vat_id="NL688136138B01")),
                inv.issue("k-no", draft("2026-10-NO", country="NO"))]
    inv.record_payment(receipts[0]["number"], date="2026-11-20")
    receipts.append(inv.credit(receipts[0]["number"], reason="hours booked twice", issue_date="2026-11-25"))
    root = ledger_wb.paths.root
    for r in receipts:
        pdf, xml = root / r["pdf"], root / r["xml"]
        assert (pdf.name, xml.name) == (f"{r['number']}.pdf", f"{r['number']}.xml")
        assert stat.S_IMODE(pdf.stat().st_mode) == 0o600 and stat.S_IMODE(xml.stat().st_mode) == 0o600
        facturx.xml_check_xsd(xml.read_bytes(), flavor="factur-x", level="en16931")  # raises if invalid
        assert schematron(str(xml)) == [], r["number"]
        name, embedded = facturx.get_facturx_xml_from_pdf(pdf.read_bytes(), check_xsd=True)
        assert name == "factur-x.xml" and embedded == xml.read_bytes()
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
        assert r["number"] in text and f"{abs(float(r['total'])):,.2f}" in text
    de, nl, no, credit = (inv.get(r["number"]) for r in receipts)
    texts = {i.number: " ".join(" ".join(p.extract_text() for p in PdfReader(str(root / i.pdf)).pages).split())
             for i in (de, nl, no, credit)}
    assert "VAT 19%" in texts[de.number] and "PO-4388" in texts[de.number] and "DE89 3704 0044 0532 0130 00" in texts[de.number]
    assert "Reverse charge" in texts[nl.number] and "NL688136138B01" in texts[nl.number]
    assert "Not subject to VAT in DE" in texts[no.number]
    assert "CREDIT NOTE" in texts[credit.number] and de.number in texts[credit.number] and "-1,160.25" in texts[credit.number]
    credit_xml = (root / credit.xml).read_text()
    assert "<ram:TypeCode>381</ram:TypeCode>" in credit_xml and f"<ram:IssuerAssignedID>{de.number}<" in credit_xml
    assert "<ram:GrandTotalAmount>1160.25</ram:GrandTotalAmount>" in credit_xml


def test_a_file_lost_after_issue_is_written_again_from_the_ledger(ledger_wb) -> None:
    inv = ledger_wb.invoices
    first = inv.issue("k-a", draft("2026-10-A"))
    (ledger_wb.paths.root / first["pdf"]).unlink()
    again = inv.issue("k-a", draft("2026-10-A"))
    assert again["number"] == first["number"] and (ledger_wb.paths.root / again["pdf"]).exists()
    assert sorted(p.name for p in (ledger_wb.paths.root / "invoices").iterdir()) == ["LA-2026-033.pdf", "LA-2026-033.xml"]
