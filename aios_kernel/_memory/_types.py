"""The small value types the memory API returns."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from .._errors import ValidationError
from .._evidence import Evidence, snippet
from .._values import identifier

_REF = re.compile(r"^mem:(?P<id>[A-Za-z0-9_\-]+)@v(?P<version>\d+)$")


class MemoryRef(str):
    """A compact reference to one version of a memory: ``"mem:<id>@v<version>"``.

    It is a ``str`` (pass it around, store it in task payloads instead of the
    text); ``.id`` is the memory id and ``.version`` the version it names.
    Every memory method that takes an id also accepts a ref.
    """

    id: str
    version: int

    def __new__(cls, id: str, version: int) -> MemoryRef:
        obj = super().__new__(cls, f"mem:{id}@v{version}")
        obj.id = id
        obj.version = version
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (MemoryRef, (self.id, self.version))

    @classmethod
    def parse(cls, text: str) -> MemoryRef:
        m = _REF.match(text)
        if not m:
            raise ValidationError(f"{text!r} is not a memory ref; refs look like 'mem:<id>@v<version>'", field="ref")
        return cls(m["id"], int(m["version"]))


def memory_id_of(value: str) -> str:
    """The memory id in ``value``, which may be an id or a ref."""
    if isinstance(value, MemoryRef):
        return value.id
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"a memory id must be a non-empty string, got {type(value).__name__}", field="id")
    identifier(value, "id")
    return MemoryRef.parse(value).id if value.startswith("mem:") else value


def _item(obj: Any, key: str) -> Any:
    if key.startswith("_") or not hasattr(obj, key):
        raise KeyError(key)
    return getattr(obj, key)


@dataclass(frozen=True)
class Version:
    """One text version of a memory, as ``history(id)`` lists them."""

    memory_id: str
    version: int
    text: str | None
    content_hash: str
    meta: dict[str, Any]
    actor: str
    reason: str | None
    at: str

    @property
    def ref(self) -> MemoryRef:
        return MemoryRef(self.memory_id, self.version)

    def __getitem__(self, key: str) -> Any:
        """``version["text"]`` works as well as ``version.text``."""
        return _item(self, key)


@dataclass
class Hit:
    """One retrieved memory and why it was returned.

    ``why`` names the layers that found it and their scores, e.g.
    ``{"layers": ["bm25", "dense"], "bm25": 7.1, "dense": 0.62, "fused": 0.81}``;
    ``ref`` is the compact reference to pass around instead of the text.
    """

    id: str
    text: str
    score: float
    meta: dict[str, Any]
    why: dict[str, Any]
    version: int = 1
    tier: str = ""
    kind: str = ""
    source: str = ""
    source_ref: str | None = None
    derived_from: list[str] = field(default_factory=list)
    event_time: str | None = None
    created_at: str = ""
    sensitive: bool = False
    """True: the model layer must not send this text to a remote model."""
    client: str | None = None
    project: str | None = None

    @property
    def ref(self) -> MemoryRef:
        return MemoryRef(self.id, self.version)

    def __getitem__(self, key: str) -> Any:
        """``hit["text"]`` works as well as ``hit.text``."""
        return _item(self, key)

    def evidence(self, query: str = "") -> Evidence:
        """This hit as evidence for an agent (outside or flagged content stays marked so)."""
        flags = tuple(self.meta.get("flags") or ())
        return Evidence(str(self.ref), snippet(self.text, query), self.source + (f": {self.source_ref}" if self.source_ref else ""),
                        round(float(self.score), 4), bool(self.meta.get("untrusted")) or bool(flags), f"memory: {self.why}",
                        flags, self.sensitive, self.text, dict(self.meta))

    def _repr_html_(self) -> str:
        return Hits([self])._repr_html_()


class Hits(list):
    """The result of ``recall``: a list of :class:`Hit`, shown as a table in notebooks."""

    query: str = ""

    def _repr_html_(self) -> str:
        head = f"<b>{len(self)} memories</b>" + (f" for <i>{html.escape(self.query)}</i>" if self.query else "")
        rows = []
        for h in self:
            layers = ", ".join(h.why.get("layers", []))
            prov = html.escape(h.source + (f": {h.source_ref}" if h.source_ref else ""))
            if h.derived_from:
                prov += "<br><small>from " + ", ".join(html.escape(d) for d in h.derived_from[:5]) + "</small>"
            rows.append(
                "<tr>"
                f"<td><code>{html.escape(h.ref)}</code><br><small>{html.escape(h.tier)} · {html.escape(h.kind)}</small></td>"
                f"<td style='text-align:left;max-width:40em'>{html.escape(h.text[:400])}{'…' if len(h.text) > 400 else ''}</td>"
                f"<td>{h.score:.3f}<br><small>{html.escape(layers)}</small></td>"
                f"<td><small>{prov}</small></td>"
                f"<td><small>{html.escape(h.event_time or '')}</small></td>"
                "</tr>"
            )
        return (
            f"<div class='aios-memory-hits'>{head}<table><tr><th>ref</th><th>text</th><th>score / why</th>"
            f"<th>provenance</th><th>when</th></tr>{''.join(rows)}</table></div>"
        )

    def __repr__(self) -> str:
        return "\n".join(f"{h.score:6.3f} {h.ref} {h.text[:80]!r}" for h in self) or "(no memories)"
