"""Links with their real targets: a shown text that names one site over a link to another is a classic lure."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ._types import Link

_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'`)\]}|]+", re.I)
_DOMAIN_IN_TEXT = re.compile(r"(?:https?://)?(?:www\.)?((?:[\w-]+\.)+[^\W\d_]{2,})(?=[/:\s?#]|$)", re.I)
# Second-level labels under a country code that are not registrable on their own ("co.uk", "com.au").
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "or", "ne", "go", "gv", "ltd", "plc"})


def host(href: str) -> str:
    """The host of a URL or the domain of a ``mailto:`` address, lower-case, without ``www.``."""
    href = href.strip()
    if href.lower().startswith("mailto:"):
        addr = href[7:].split("?", 1)[0]
        return addr.rsplit("@", 1)[-1].lower() if "@" in addr else ""
    if href.lower().startswith("www."):
        href = "http://" + href
    try:
        h = urlsplit(href).hostname or ""
    except ValueError:  # a malformed URL (bad port, brackets) has no trustworthy host
        return ""
    h = h.lower().rstrip(".")
    return h[4:] if h.startswith("www.") else h


def registrable(domain: str) -> str:
    """The part of a domain its owner registered: ``mail.example.co.uk`` -> ``example.co.uk``."""
    labels = [x for x in domain.lower().split(".") if x]
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def shown_domain(text: str) -> str:
    """The domain a link's text shows, if the text names one (``paypal.com``, ``https://x.org/login``)."""
    m = _DOMAIN_IN_TEXT.search(text.strip())
    if not m:
        return ""
    d = m.group(1).lower()
    return d[4:] if d.startswith("www.") else d


def link(text: str, href: str, *, hidden: bool = False, source: str = "html") -> Link:
    """A :class:`Link`, with ``mismatch`` when the text shows a domain other than the target's."""
    target = host(href)
    shown = shown_domain(text) if text != href else ""
    web = href.lower().startswith(("http://", "https://", "www.", "mailto:"))
    mismatch = bool(web and shown and target and registrable(shown) != registrable(target))
    if href.lower().startswith(("javascript:", "data:", "vbscript:")):
        mismatch = True  # a script or inline document is never where the text says it goes
    return Link(text[:300], href[:2000], target, shown, mismatch, hidden, "text" if source == "text" else "html")


def text_links(text: str, limit: int) -> list[Link]:
    """URLs written out in plain text (their text is their target, so none mismatches)."""
    out = []
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(".,;:!?")
        out.append(link(url, url, source="text"))
        if len(out) >= limit:
            break
    return out
