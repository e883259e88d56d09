"""Inbound mail, made safe to read: canonicalisation, prompt-injection and fraud detection, automated mail, asks.

One message goes through it like this::

    c = canonicalise(body, content_type="text/html")     # once, before anything embeds, indexes or shows it
    v = detect(c, subject=subject, sender=sender)         # prompt injection: flagged, score, reasons per layer
    f = fraud_signals(c, subject=subject, sender=sender, known_sender=..., reply_to=...)
    a = automated(headers, sender, c)                     # notification / newsletter / receipt, or None
    facts(c, a.kind, sender=sender, subject=subject)      # amounts, merchant, reference, date (when a is not None)
    q = asks(c)                                           # expects_reply, questions, settles
    spotlight(c.text)                                     # how any prompt quotes the message

Everything is plain data (frozen dataclasses). Bad input never raises anything but
:class:`~aios_kernel._errors.ValidationError` for a wrong argument type; oversized,
malformed or strange bodies come back canonicalised with :class:`Note` records saying
what was cut or could not be read. The learned layer loads the project's embedder
lazily, on the first :func:`detect` call that needs it (``learned=False`` skips it).
"""

from __future__ import annotations

from ._asks import asks
from ._automated import automated
from ._canonical import canonicalise
from ._detect import FLAG, detect
from ._facts import facts
from ._fraud import fraud_signals
from ._spotlight import MARKER, Spotlight, datamark, spotlight, unmark
from ._types import Ask, Automated, Blob, Canonical, Hidden, Image, Limits, Link, Note, Reason, Verdict

__all__ = [
    "Ask",
    "Automated",
    "Blob",
    "Canonical",
    "FLAG",
    "Hidden",
    "Image",
    "Limits",
    "Link",
    "MARKER",
    "Note",
    "Reason",
    "Spotlight",
    "Verdict",
    "asks",
    "automated",
    "canonicalise",
    "datamark",
    "detect",
    "facts",
    "fraud_signals",
    "spotlight",
    "unmark",
]
