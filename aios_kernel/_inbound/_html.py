"""HTML to the text a reader sees, with what the reader does not see kept aside.

lxml parses (linear time, forgiving with broken markup), cssselect applies the
top-level rules of ``<style>`` blocks, :mod:`._css` judges each element's
declarations with the colours it inherits, hidden elements and comments are
lifted out with their reason, and html-text lays the rest out as text (block
elements on their own lines). Links and images are listed as found, with
whether they sat in hidden content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ._css import HIDING, WHITE, Style, declarations, length_px
from ._types import Blob, Hidden, Image, Limits, Link, Note

_DROP = ("script", "style", "head", "template", "svg", "object", "embed", "iframe", "frameset", "meta", "link")
# Inside an @media block a rule applies to some screens only, so it does not prove text is hidden.
_BLOCK_TAGS = frozenset({"p", "div", "table", "tr", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
                         "section", "article", "header", "footer", "br", "hr", "td", "th"})


@dataclass
class HtmlText:
    """What :func:`html_to_text` found."""

    text: str
    hidden: list[Hidden] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    blobs: list[Blob] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _sheet_rules(doc: Any, notes: list[Note], limit: int) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """Top-level ``selector { declarations }`` rules of the ``<style>`` elements (their first ``limit`` characters)."""
    import tinycss2

    rules = []
    budget = limit
    for el in doc.iter("style"):
        css = el.text or ""
        if len(css) > budget:
            notes.append(Note("truncated_css", f"style sheets past {limit:,} characters were not read (Limits.max_css_chars)"))
            css = css[: css.rfind("}", 0, budget) + 1]
        budget -= len(css)
        for rule in tinycss2.parse_stylesheet(css, skip_whitespace=True, skip_comments=True):
            if rule.type == "qualified-rule":
                rules.append((tinycss2.serialize(rule.prelude).strip(), declarations(tinycss2.serialize(rule.content))))
    return rules


_SIMPLE = re.compile(r"^([a-z][a-z0-9]*|\*)?((?:[.#][\w-]+)*)$", re.I)


class _Index:
    """Elements by tag, class and id, built in one pass, so simple selectors cost a lookup, not a document scan."""

    def __init__(self, doc: Any) -> None:
        self.tags: dict[str, list[Any]] = {}
        self.classes: dict[str, list[Any]] = {}
        self.ids: dict[str, list[Any]] = {}
        for el in doc.iter():
            if not isinstance(el.tag, str):
                continue
            self.tags.setdefault(el.tag, []).append(el)
            for c in (el.get("class") or "").split():
                self.classes.setdefault(c, []).append(el)
            if el.get("id"):
                self.ids.setdefault(el.get("id"), []).append(el)

    def select(self, selector: str) -> list[Any] | None:
        """Elements matching a simple selector (``p``, ``.a``, ``#x``, ``td.a.b``); None for any other."""
        m = _SIMPLE.match(selector.strip())
        if not m or not (m.group(1) or m.group(2)):
            return None
        parts = re.findall(r"[.#][\w-]+", m.group(2))
        tag = (m.group(1) or "*").lower()
        if parts:
            first = parts[0]
            found = (self.ids if first[0] == "#" else self.classes).get(first[1:], [])
        else:
            found = [el for els in self.tags.values() for el in els] if tag == "*" else self.tags.get(tag, [])
        out = []
        for el in found:
            classes = set((el.get("class") or "").split())
            if tag != "*" and el.tag != tag:
                continue
            if all((p[1:] in classes) if p[0] == "." else el.get("id") == p[1:] for p in parts):
                out.append(el)
        return out


def _sheet_styles(doc: Any, notes: list[Note], limit: int, css_limit: int) -> dict[Any, tuple[tuple[str, str], ...]]:
    """Declarations each element gets from style sheets (inline styles are added after, so they win).

    Simple selectors (tag, class, id) are looked up in an index; any other selector is one cssselect
    XPath pass over the document, so at most ``limit`` of those are applied: a style sheet of thousands
    of complex rules would make the work quadratic.
    """
    from cssselect import SelectorError

    out: dict[Any, tuple[tuple[str, str], ...]] = {}
    rules = [(sel, d) for sel, d in _sheet_rules(doc, notes, css_limit) if any(name in HIDING for name, _ in d)]
    if not rules:
        return out
    index = _Index(doc)
    complex_rules = 0
    for selector_list, decls in rules:
        for selector in selector_list.split(","):
            matched = index.select(selector)
            if matched is None:
                complex_rules += 1
                if complex_rules > limit:
                    continue
                try:
                    matched = doc.cssselect(selector)
                except (SelectorError, ValueError, TypeError) as exc:  # selectors cssselect cannot translate
                    notes.append(Note("css_selector_skipped", f"style rule {selector[:80]!r} not applied: {exc}"))
                    continue
            for el in matched:
                out[el] = out.get(el, ()) + decls
    if complex_rules > limit:
        notes.append(Note("truncated_style_rules", f"{complex_rules:,} complex style selectors could hide text; the first "
                                                   f"{limit} were applied (Limits.max_style_rules)"))
    return out


def _attr_decls(el: Any) -> tuple[tuple[str, str], ...]:
    """Presentational attributes (``bgcolor``, ``<font color>``): older mail templates colour with them."""
    out: tuple[tuple[str, str], ...] = ()
    if el.get("bgcolor"):
        out += (("background-color", el.get("bgcolor").strip().lower()),)
    if el.tag == "font" and el.get("color"):
        out += (("color", el.get("color").strip().lower()),)
    if el.get("background"):
        out += (("background-image", "url()"),)
    return out


def _attr_hidden(el: Any) -> str | None:
    if el.get("hidden") is not None:
        return "hidden attribute"
    if el.tag == "input" and (el.get("type") or "").lower() == "hidden":
        return "hidden input"
    return None


def _tracking(el: Any, style: Style | None) -> bool:
    sizes = [length_px(el.get(a) or "") for a in ("width", "height")]
    return bool(style and style.hidden) or any(s is not None and s <= 2 for s in sizes)


def _comment_text(comment: Any) -> str:
    import lxml.html

    raw = comment.text or ""
    if "<" in raw and ">" in raw:  # conditional comments carry markup (Outlook shows them)
        try:
            return _squash(lxml.html.fragment_fromstring(raw, create_parent="div").text_content())
        except Exception:  # noqa: BLE001 - lxml raises several types on junk; the raw text is the fallback
            return _squash(raw)
    return _squash(raw)


def html_to_text(html: str, limits: Limits) -> HtmlText:
    """Visible text of ``html``; hidden content, links, images and data URIs listed aside."""
    import lxml.etree
    import lxml.html

    out = HtmlText("")
    parser = lxml.html.HTMLParser(remove_comments=False, remove_pis=True, recover=True)
    try:
        doc = lxml.html.document_fromstring(html, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        out.notes.append(Note("html_empty", "the HTML holds no elements"))
        return out
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        return _flat(html, out, limits)
    sheet = _sheet_styles(doc, out.notes, limits.max_style_rules, limits.max_css_chars)
    styles: dict[Any, Style] = {}
    hidden_roots: list[tuple[Any, str]] = []
    hidden_set: set[Any] = set()
    checked = 0
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        parent = el.getparent()
        if parent in hidden_set:
            hidden_set.add(el)
            continue
        checked += 1
        if checked > limits.max_elements:
            out.notes.append(Note("truncated_style_checks", f"more than {limits.max_elements:,} elements: the rest were not "
                                                            "checked for hidden styles (their text is kept as visible)"))
            break
        ps = styles.get(parent)
        decls = _attr_decls(el) + sheet.get(el, ()) + (declarations(el.get("style")) if el.get("style") else ())
        style = Style(decls, ps.color if ps else None, ps.background if ps else WHITE) if (decls or ps) else None
        if style is not None:
            styles[el] = style
        if el.tag in _DROP:
            continue
        reason = _attr_hidden(el) or (style.hidden if style and decls else None)
        if reason:
            hidden_set.add(el)
            hidden_roots.append((el, reason))
    _collect(doc, out, hidden_set, styles, limits)
    for el, reason in hidden_roots:
        text = _squash(el.text_content())
        if text and len(out.hidden) < limits.max_items:
            out.hidden.append(Hidden(text, reason, el.tag))
    for c in list(doc.iter(lxml.etree.Comment)):
        text = _comment_text(c)
        if text and len(out.hidden) < limits.max_items:
            out.hidden.append(Hidden(text, "html comment", "comment"))
    for el in [e for e, _ in hidden_roots] + list(doc.iter(lxml.etree.Comment, *_DROP)):
        if el.getparent() is not None:
            el.drop_tree()  # keeps the tail text, which belongs to the parent
    import html_text

    out.text = html_text.etree_to_text(doc)
    return out


def _collect(doc: Any, out: HtmlText, hidden: set[Any], styles: dict[Any, Style], limits: Limits) -> None:
    """Links, images and data: URIs, before hidden elements are lifted out."""
    from ._links import link

    for el in doc.iter("a", "img", "area", "source"):
        href = (el.get("href") or el.get("src") or "").strip()
        if href.startswith("data:") and len(out.blobs) < limits.max_items:
            out.blobs.append(Blob("data-uri", -1, len(href)))
        if el.tag == "img":
            if len(out.images) < limits.max_items:
                out.images.append(Image(href[:500], _squash(el.get("alt") or ""), _tracking(el, styles.get(el)) or el in hidden))
        elif href and len(out.links) < limits.max_items:
            out.links.append(link(_squash(el.text_content()), href, hidden=el in hidden, source="html"))


def _flat(html: str, out: HtmlText, limits: Limits) -> HtmlText:
    """Text of HTML nested too deep for the tree parser: every text node, nothing hidden judged."""
    from html.parser import HTMLParser

    chunks: list[str] = []
    skip = [0]

    class Flat(HTMLParser):
        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag in ("script", "style"):
                skip[0] += 1
            elif tag in _BLOCK_TAGS:
                chunks.append("\n")

        def handle_endtag(self, tag: str) -> None:
            if tag in ("script", "style"):
                skip[0] = max(0, skip[0] - 1)

        def handle_data(self, data: str) -> None:
            if not skip[0]:
                chunks.append(data)

    p = Flat(convert_charrefs=True)
    p.feed(html)
    p.close()
    out.text = "\n".join(_squash(line) for line in "".join(chunks).split("\n") if line.strip())
    out.notes.append(Note("html_too_deep", f"elements nested deeper than the parser follows (about {limits.max_depth} levels): "
                                           "read flat, every text shown, hidden styles not checked"))
    return out
