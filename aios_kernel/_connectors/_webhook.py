"""Webhooks: an action sent as JSON to a configured HTTP endpoint.

``[connectors.NAME]`` with ``kind = "webhook"``: ``url``, ``method`` (POST,
PUT or PATCH), ``token = "secret:NAME"`` (sent as ``Authorization: Bearer``),
``timeout_s``, and optionally ``status_url``: a GET by key (``{key}`` in it is
replaced by the idempotency key, URL-quoted) that answers 200 when the endpoint
took that call and 404 when it did not.

The body is the action's payload exactly as approved; the headers say which
action (``X-Aios-Action``) and which effect (``Idempotency-Key``). Any action
name is taken (it names the event for the endpoint); ``notify`` is declared with
its fields.

Exactly once: a definite answer is final (2xx: done; 4xx: refused, not
retried; 429 and 5xx: retried after ``Retry-After`` with the same key). A call
sent without an answer (a read timeout, a dropped connection) is settled by
``status_url`` when there is one: the retry asks it first and sends again only
when the endpoint says it never took the call. Without one, nobody can know:
the effect is *unknown* and the operator is asked (the journal remembers that
the call went out, so a crash afterwards asks too instead of sending again).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import quote

from .._errors import ConnectorError, OutcomeUnknown
from ._actions import Action, Field
from ._base import Connector, ConnectorEnv, Unknown
from ._http import read, request, shown

NOTIFY = Action("notify", (
    Field("event", "id", help="what happened, e.g. invoice.issued"),
    Field("text", "text", required=False, max_len=20_000),
    Field("data", "dict", required=False),
), reversible=False)


class WebhookConnector(Connector):
    """Sends each action to one HTTP endpoint; see the module docstring."""

    kind = "webhook"
    actions: ClassVar[dict[str, Action]] = {"notify": NOTIFY}
    any_action: ClassVar[bool] = True

    def __init__(self, name: str, settings: dict[str, Any], env: ConnectorEnv) -> None:
        super().__init__(name, settings)
        self.env = env
        self.url = str(settings.get("url") or "")
        if not self.url.startswith(("http://", "https://")):
            from .._errors import ConfigError

            raise ConfigError(f"[connectors.{name}] url must be an http(s) URL of the endpoint, got {self.url!r}",
                              key=f"connectors.{name}.url")
        self.method = str(settings.get("method") or "POST").upper()
        self.status_url = str(settings.get("status_url") or "")
        token = settings.get("token") or ""
        self.token = env.secrets.resolve(token, key=f"connectors.{name}.token") if token else None

    @classmethod
    def from_settings(cls, name: str, settings: dict[str, Any], env: ConnectorEnv) -> WebhookConnector:
        return cls(name, settings, env)

    def describe(self) -> str:
        return f"{self.method} {shown(self.url)}" + (f", checked by GET {shown(self.status_url)}" if self.status_url else "")

    def preview(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"connector": self.name, "kind": self.kind, "action": action, "would": f"{self.describe()} with the payload",
                "bytes": len(json.dumps(payload, default=str).encode())}

    # -- apply --------------------------------------------------------------------------------

    def apply(self, key: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if self.status_url:
            earlier = self._status(key)
            if earlier is not None:
                return {**earlier, "already_applied": True}
        else:
            known = self.was_applied(key)
            if isinstance(known, Unknown):
                raise OutcomeUnknown(known.reason, connector=self.name, hint=known.hint)
            if known is not None:
                return {**known, "already_applied": True}
        self.env.journal.mark(key, "sent", shown(self.url))
        try:
            answer = request(self.method, self.url, connector=self.name, key=key, timeout_s=self.timeout_s,
                             token=self.token, body=payload, action=action)
        except OutcomeUnknown as exc:
            if self.status_url:  # the retry asks status_url before it sends anything again
                raise ConnectorError(f"{exc}; before it is sent again, {shown(self.status_url)} is asked whether it was "
                                     "taken", connector=self.name, transient=True) from None
            raise
        except ConnectorError:
            self.env.journal.forget(key)  # nothing was sent
            raise
        try:
            data = read(answer, connector=self.name, url=self.url, what=f"{action} ({key})")
        except ConnectorError as exc:
            if answer.status >= 300:
                self.env.journal.forget(key)  # a definite refusal: not taken (a retry sends the same key again)
            raise exc
        receipt = {"endpoint": shown(self.url), "status": answer.status, "action": action,
                   "response": _small(data)}
        self.env.journal.mark(key, "answered", json.dumps(receipt, default=str))
        return receipt

    def was_applied(self, key: str) -> dict[str, Any] | Unknown | None:
        if self.status_url:
            return self._status(key)
        answered = self.env.journal.detail(key, "answered")
        if answered:
            return json.loads(answered)
        stages = self.env.journal.stages(key)
        if "sent" in stages:
            return Unknown(f"{self.method} {shown(self.url)} for {key} was sent at {stages['sent']} and no answer came back; "
                           "the endpoint may have acted on it",
                           f"ask the endpoint whether it took the call with Idempotency-Key {key}; then choose 'it "
                           "happened' or 'do it again' (the same key is sent again)")
        return None

    def retract(self, key: str) -> None:
        self.env.journal.forget(key)

    def _status(self, key: str) -> dict[str, Any] | None:
        url = self.status_url.replace("{key}", quote(key, safe=""))
        try:
            answer = request("GET", url, connector=self.name, key=key, timeout_s=self.timeout_s, token=self.token)
        except OutcomeUnknown as exc:  # a question that went unanswered changed nothing: ask again later
            raise ConnectorError(str(exc), connector=self.name, transient=True) from None
        if answer.status == 404:
            return None
        data = read(answer, connector=self.name, url=url, what=f"the status of {key}")
        return {"endpoint": shown(self.url), "status": answer.status, "checked": shown(self.status_url),
                "response": _small(data)}


def _small(data: Any) -> Any:
    """What the endpoint answered, kept only when short (a receipt is stored with the effect)."""
    text = json.dumps(data, default=str)
    return data if len(text) <= 4000 else {"truncated": text[:4000]}
