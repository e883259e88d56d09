"""The EN 16931 e-invoice: Factur-X (profile EN 16931) cross-industry invoice XML, and the PDF/A-3 it travels in.

The XML is written element by element in the order the schema wants and
checked against the XSD the ``factur-x`` package ships
(``facturx.xml_check_xsd``, level ``en16931``) before it is used;
``facturx.generate_from_binary`` then embeds it in the PDF as
``factur-x.xml`` with the PDF/A-3 metadata. A credit note is type 381 with
positive amounts referencing the invoice it credits (BG-3), as EN 16931
expects; the ledger and the PDF show its amounts negative.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._errors import ValidationError
from ._document import absolute, month_bounds
from ._tax import cents

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NS = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
PROFILE = "urn:cen.eu:en16931:2017"


def _d(value: str) -> str:
    return value.replace("-", "")


def xml(doc: Mapping[str, Any]) -> bytes:
    """The CII XML of an issued document (``doc["number"]`` set)."""
    from lxml import etree

    def el(parent: Any, tag: str, text: Any = None, **attrs: str) -> Any:
        prefix, name = tag.split(":")
        node = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}", attrs)
        if text is not None:
            node.text = str(text)
        return node

    def when(parent: Any, tag: str, day: str, qualified: bool = False) -> None:
        holder = el(parent, tag)
        el(holder, "qdt:DateTimeString" if qualified else "udt:DateTimeString", _d(day), format="102")

    credit = doc["kind"] == "credit_note"
    tax = doc["tax"]
    category, rate = tax["category"], tax.get("rate", "0")
    currency = doc["currency"]
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NS)
    ctx = el(root, "rsm:ExchangedDocumentContext")
    el(el(ctx, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", PROFILE)
    head = el(root, "rsm:ExchangedDocument")
    el(head, "ram:ID", doc["number"])
    el(head, "ram:TypeCode", "381" if credit else "380")
    when(head, "ram:IssueDateTime", doc["issue_date"])
    notes = [n for n in (tax.get("note"), doc.get("reason") and f"Credit note for {doc['credit_of']['number']}: {doc['reason']}")
             if n]
    for note in notes:
        el(el(head, "ram:IncludedNote"), "ram:Content", note)

    trade = el(root, "rsm:SupplyChainTradeTransaction")
    for n, line in enumerate(doc["lines"], start=1):
        item = el(trade, "ram:IncludedSupplyChainTradeLineItem")
        el(el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", n)
        el(el(item, "ram:SpecifiedTradeProduct"), "ram:Name", (line.get("description") or "Services")[:300])
        price = el(el(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice")
        el(price, "ram:ChargeAmount", cents(line["rate"]))
        el(el(item, "ram:SpecifiedLineTradeDelivery"), "ram:BilledQuantity", str(absolute(line["hours"])), unitCode="HUR")
        settle = el(item, "ram:SpecifiedLineTradeSettlement")
        lt = el(settle, "ram:ApplicableTradeTax")
        el(lt, "ram:TypeCode", "VAT")
        el(lt, "ram:CategoryCode", category)
        if category != "O":
            el(lt, "ram:RateApplicablePercent", rate)
        period = el(settle, "ram:BillingSpecifiedPeriod")
        when(period, "ram:StartDateTime", line["date"])
        when(period, "ram:EndDateTime", line["date"])
        el(el(settle, "ram:SpecifiedTradeSettlementLineMonetarySummation"), "ram:LineTotalAmount", cents(absolute(line["amount"])))

    seller, buyer = doc["seller"], doc["buyer"]
    agreement = el(trade, "ram:ApplicableHeaderTradeAgreement")
    el(agreement, "ram:BuyerReference", doc.get("po") or doc.get("project") or doc["client"])
    sp = el(agreement, "ram:SellerTradeParty")
    if seller.get("tax_number"):
        el(sp, "ram:ID", seller["tax_number"])  # BT-29: identifies the seller when no VAT id may be stated (category O)
    el(sp, "ram:Name", seller["name"])
    if seller.get("owner"):
        contact = el(sp, "ram:DefinedTradeContact")
        el(contact, "ram:PersonName", seller["owner"])
        if seller.get("email"):
            el(el(contact, "ram:EmailURIUniversalCommunication"), "ram:URIID", seller["email"])
    _address(el, sp, seller)
    if seller.get("email"):
        el(el(sp, "ram:URIUniversalCommunication"), "ram:URIID", seller["email"], schemeID="EM")
    if seller.get("vat_id") and category != "O":
        el(el(sp, "ram:SpecifiedTaxRegistration"), "ram:ID", seller["vat_id"], schemeID="VA")
    if seller.get("tax_number"):
        el(el(sp, "ram:SpecifiedTaxRegistration"), "ram:ID", seller["tax_number"], schemeID="FC")
    bp = el(agreement, "ram:BuyerTradeParty")
    el(bp, "ram:Name", buyer.get("name") or doc["client"])
    _address(el, bp, buyer)
    if buyer.get("email"):
        el(el(bp, "ram:URIUniversalCommunication"), "ram:URIID", buyer["email"], schemeID="EM")
    if tax.get("buyer_vat_id") and category != "O":
        el(el(bp, "ram:SpecifiedTaxRegistration"), "ram:ID", tax["buyer_vat_id"], schemeID="VA")
    if doc.get("po"):
        el(el(agreement, "ram:BuyerOrderReferencedDocument"), "ram:IssuerAssignedID", doc["po"])
    if doc.get("project"):
        project = el(agreement, "ram:SpecifiedProcuringProject")
        el(project, "ram:ID", doc["project"])
        el(project, "ram:Name", doc.get("project_name") or doc["project"])

    el(trade, "ram:ApplicableHeaderTradeDelivery")
    settlement = el(trade, "ram:ApplicableHeaderTradeSettlement")
    el(settlement, "ram:PaymentReference", doc["number"])
    el(settlement, "ram:InvoiceCurrencyCode", currency)
    if seller.get("iban"):
        means = el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        el(means, "ram:TypeCode", "58")
        el(el(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", seller["iban"])
        if seller.get("bic"):
            el(el(means, "ram:PayeeSpecifiedCreditorFinancialInstitution"), "ram:BICID", seller["bic"])
    bt = el(settlement, "ram:ApplicableTradeTax")
    el(bt, "ram:CalculatedAmount", cents(absolute(doc["vat"])))
    el(bt, "ram:TypeCode", "VAT")
    if category in ("AE", "O", "E"):
        el(bt, "ram:ExemptionReason", tax.get("note") or "Exempt")
    el(bt, "ram:BasisAmount", cents(absolute(doc["net"])))
    el(bt, "ram:CategoryCode", category)
    if category in ("AE", "O", "E") and tax.get("exemption_code"):
        el(bt, "ram:ExemptionReasonCode", tax["exemption_code"])
    if category != "O":
        el(bt, "ram:RateApplicablePercent", rate)
    bounds = month_bounds(doc.get("month") or "")
    if bounds:
        period = el(settlement, "ram:BillingSpecifiedPeriod")
        when(period, "ram:StartDateTime", bounds[0])
        when(period, "ram:EndDateTime", bounds[1])
    terms = el(settlement, "ram:SpecifiedTradePaymentTerms")
    if credit:
        el(terms, "ram:Description", f"Credited against invoice {doc['credit_of']['number']}; refunded by bank transfer")
    else:
        el(terms, "ram:Description", f"Payable by bank transfer by {doc['due_date']}, quoting {doc['number']}")
        when(terms, "ram:DueDateDateTime", doc["due_date"])
    sums = el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    el(sums, "ram:LineTotalAmount", cents(absolute(doc["net"])))
    el(sums, "ram:TaxBasisTotalAmount", cents(absolute(doc["net"])))
    el(sums, "ram:TaxTotalAmount", cents(absolute(doc["vat"])), currencyID=currency)
    el(sums, "ram:GrandTotalAmount", cents(absolute(doc["total"])))
    el(sums, "ram:DuePayableAmount", cents(absolute(doc["total"])))
    if credit:
        ref = el(settlement, "ram:InvoiceReferencedDocument")
        el(ref, "ram:IssuerAssignedID", doc["credit_of"]["number"])
        when(ref, "ram:FormattedIssueDateTime", doc["credit_of"]["issue_date"], qualified=True)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _address(el: Any, party: Any, who: Mapping[str, Any]) -> None:
    address = el(party, "ram:PostalTradeAddress")
    if who.get("postcode"):
        el(address, "ram:PostcodeCode", who["postcode"])
    if who.get("address"):
        el(address, "ram:LineOne", who["address"])
    if who.get("city"):
        el(address, "ram:CityName", who["city"])
    el(address, "ram:CountryID", str(who.get("country") or "").upper())


def check(data: bytes) -> None:
    """Validate ``data`` against the Factur-X EN 16931 XSD the factur-x package ships; ValidationError naming what fails."""
    import facturx

    try:
        facturx.xml_check_xsd(data, flavor="factur-x", level="en16931")
    except Exception as exc:  # factur-x raises a plain Exception with the schema's message
        raise ValidationError(f"the e-invoice XML does not validate against the Factur-X EN 16931 schema: {exc}",
                              field="xml") from None


def embed(pdf: bytes, data: bytes, doc: Mapping[str, Any]) -> bytes:
    """The Factur-X PDF/A-3: ``pdf`` with ``data`` embedded as factur-x.xml (checked against the XSD again on the way)."""
    import logging

    import facturx

    logging.getLogger("factur-x").setLevel(logging.WARNING)
    title = f"{'Credit note' if doc['kind'] == 'credit_note' else 'Invoice'} {doc['number']}"
    meta = {"author": doc["seller"]["name"], "keywords": "Factur-X, EN 16931, invoice", "title": title,
            "subject": f"{title} to {doc['client']}: {doc['total']} {doc['currency']}"}
    return facturx.generate_from_binary(pdf, data, flavor="factur-x", level="en16931", check_xsd=True, pdf_metadata=meta,
                                        lang="en-GB")
