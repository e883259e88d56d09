"""Outbound HTTP for connectors (``httpx``): one request, its failure named, its answer read as JSON.

Every request carries ``Idempotency-Key`` (the Stripe convention): the key of
the effect, the same on every attempt, so an endpoint that honours it applies
a call once however often it arrives. What went wrong decides what happens:

- not sent (no connection, refused, a connect timeout): transient; retrying is safe.
- sent, no answer (the read timed out, the connection dropped): :class:`~aios_kernel.OutcomeUnknown`;
  the caller decides whether a GET by key can settle it or a person must.
- 429 or 503: transient, ``retry_after`` from ``Retry-After`` (seconds or an HTTP date);
  408, 409 (the same key is still being processed), 425 and other 5xx: transient.
- 401 or 403: permanent, "check the token"; other 4xx: permanent, with what the endpoint said.
- 2xx whose body is not JSON (an HTML page: a login wall, a proxy, the wrong URL): permanent, saying so.

Nothing of the token reaches a message, a receipt or a log: it is revealed into
the ``Authorization`` header and nowhere else; URLs are shown without user
information or query.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .._errors import ConnectorError, OutcomeUnknown
from .._version import __version__

TRANSIENT = {408, 409, 425, 429}
MAX_BODY = 1_000_000


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, headers and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def shown(url: str) -> str:
    """``url`` without user information, query or fragment (what may be shown or kept)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(when.tzinfo)).total_seconds())


def request(method: str, url: str, *, connector: str, key: str, timeout_s: float, token: Any = None,
            body: Any = None, action: str = "") -> Answer:
    """Send one request; returns the answer, or raises as the module docstring says."""
    import httpx

    headers = {"Accept": "application/json", "Idempotency-Key": key, "User-Agent": f"aios-workbench/{__version__}"}
    if action:
        headers["X-Aios-Action"] = action
    if token is not None:
        value = token.reveal() if hasattr(token, "reveal") else str(token)
        headers["Authorization"] = f"Bearer {value}"
    content = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        content = json.dumps(body, ensure_ascii=False, default=str).encode()
    where = shown(url)
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=False) as client:
            r = client.request(method, url, content=content, headers=headers)
            return Answer(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content[:MAX_BODY])
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol) as exc:
        raise ConnectorError(f"{connector}: the endpoint {where} could not be reached ({type(exc).__name__}: {_said(exc)}); "
                             "nothing was sent, it will be tried again", connector=connector, transient=True) from None
    except httpx.TransportError as exc:  # sent, and no (complete) answer: a read timeout, a dropped connection
        raise OutcomeUnknown(f"{connector}: {method} {where} was sent but no answer came back ({type(exc).__name__}"
                             f"{': ' + _said(exc) if _said(exc) else ''}); the endpoint may have acted on it",
                             connector=connector,
                             hint=f"ask the endpoint whether it took the call with Idempotency-Key {key}; sending it "
                                  "again with the same key is safe where the endpoint honours the key") from None
    except httpx.InvalidURL as exc:
        raise ConnectorError(f"{connector}: {where!r} is not a usable URL ({exc}); fix [connectors.{connector}] url",
                             connector=connector) from None


def read(answer: Answer, *, connector: str, url: str, what: str) -> dict[str, Any]:
    """The JSON of a 2xx answer (``{}`` for an empty one); a ConnectorError for every other answer."""
    where = shown(url)
    if 200 <= answer.status < 300:
        if not answer.body.strip():
            return {}
        try:
            data = json.loads(answer.body)
        except ValueError:
            data = None
        if data is None or (answer.content_type and "json" not in answer.content_type):
            raise ConnectorError(
                f"{connector}: {where} answered {answer.status} to {what} with {answer.content_type or 'no content type'} "
                f"instead of JSON ({_excerpt(answer.body)!r}); that is not the API: check [connectors.{connector}] url "
                "(a web page, a login wall or a proxy answers like this). Not retried; the call may have been taken: "
                "sending it again later uses the same Idempotency-Key", connector=connector)
        return data if isinstance(data, dict) else {"response": data}
    status = answer.status
    said = _excerpt(answer.body)
    if status in (429, 503) or status in TRANSIENT or status >= 500:
        wait = retry_after(answer.headers.get("retry-after"))
        reason = "asks to slow down" if status == 429 else f"answered {status}"
        raise ConnectorError(
            f"{connector}: {where} {reason} to {what}" + (f" (Retry-After {wait:g}s)" if wait is not None else "")
            + (f": {said}" if said else "") + "; it will be tried again", connector=connector, transient=True,
            retry_after=wait)
    if status in (401, 403):
        raise ConnectorError(f"{connector}: {where} refused the credentials ({status}); check the secret named by "
                             f"[connectors.{connector}] token", connector=connector)
    raise ConnectorError(f"{connector}: {where} refused {what} with {status}" + (f": {said}" if said else "")
                         + "; not retried: the payload or the settings must change", connector=connector)


def _excerpt(body: bytes) -> str:
    return " ".join(body[:400].decode("utf-8", "replace").split())[:200]


def _said(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]
