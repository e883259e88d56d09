"""Telling when two spellings name the same client or person.

Rows are linked when they share a contact e-mail address, an e-mail domain,
or a normalised name (case, punctuation, accents, ``&``/``and`` and legal
suffixes such as Ltd or GmbH ignored). Linked rows become one record whose
name is the first spelling seen; the others are kept as aliases.

Names in every script fold to ASCII with anyascii (``Дом ООО`` -> ``dom``,
``北京咨询`` -> ``beijingzixun``, ``Økodesign`` -> ``okodesign``), so names in
other scripts keep distinct keys instead of all becoming empty (which merged
them into one client).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from .._ids import slug

LEGAL_SUFFIXES = {
    "ltd", "limited", "llc", "inc", "gmbh", "ag", "as", "asa", "ab", "bv", "nv", "sa", "sarl", "srl", "oy", "aps",
    "plc", "co", "corp", "company", "kg", "ug", "sl", "slu", "spa", "sas", "ooo", "zao", "oao", "pao", "ae",
    "ou", "youxiangongsi", "zhushihuishe", "kabushikikaisha",
}
LEGAL_PREFIXES = {"ooo", "zao", "oao", "pao"}
"""Russian legal forms come first ("ООО Ромашка")."""
_INITIALS = re.compile(r"(?<=\b\w)\.(?=\w\b)")


def normalise_name(name: str) -> str:
    """The comparison key of an organisation or person name: never empty for a name with any visible character."""
    from anyascii import anyascii

    text = _INITIALS.sub("", name.replace("&", " and "))  # "S.L." is one word, like "SL"
    words = [w for w in slug(anyascii(text)).split("-") if w]
    core = list(words)
    while core and core[-1] in LEGAL_SUFFIXES:
        core.pop()
    while core and core[0] in LEGAL_PREFIXES:
        core.pop(0)
    if core:
        return " ".join(core)
    if words:  # the name is only a legal form ("GmbH"): keep it rather than nothing
        return " ".join(words)
    # no letter or digit anyascii can spell (symbols only): the name itself, so distinct names stay distinct
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def email_domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().lower() if "@" in address else ""


def group(keys_per_row: Sequence[Iterable[str]]) -> list[list[int]]:
    """Union rows that share any key; groups of row indexes in first-seen order."""
    parent = list(range(len(keys_per_row)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, keys in enumerate(keys_per_row):
        for key in keys:
            if not key:
                continue
            if key in owner:
                a, b = find(owner[key]), find(i)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[key] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(keys_per_row)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


FREE_MAIL = {"gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "proton.me", "protonmail.com", "gmx.de", "web.de"}


def client_keys(name: str, contact_email: str = "", domain: str = "") -> list[str]:
    """The keys that identify a client row (free-mail domains do not link clients)."""
    norm = normalise_name(name)
    keys = [f"name:{norm}"] if norm else []  # a blank name links nothing
    if contact_email:
        keys.append(f"email:{contact_email.strip().lower()}")
    dom = (domain or email_domain(contact_email)).strip().lower()
    if dom and dom not in FREE_MAIL:
        keys.append(f"domain:{dom}")
    return keys


_WS = re.compile(r"\s+")


def clean(text: str | None) -> str:
    """Collapse whitespace; ``None`` becomes ``""``."""
    return _WS.sub(" ", text or "").strip()
