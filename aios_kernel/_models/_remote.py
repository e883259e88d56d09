"""The optional remote tier: an OpenAI-compatible ``/chat/completions`` endpoint.

Off unless ``[models.remote] enabled = true`` and ``url`` is set. It is never
sent a request marked sensitive (the service routes those to the local tier
or templates, and this client refuses them too).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from .._errors import ModelError


@dataclass(frozen=True)
class RemoteReply:
    text: str
    tokens_in: int
    tokens_out: int


class RemoteClient:
    """A minimal client for ``POST {url}/chat/completions``."""

    def __init__(self, url: str, model: str, *, api_key: str = "", timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s

    @classmethod
    def from_config(cls, config: Any) -> RemoteClient | None:
        remote = config.get("models.remote") or {}
        if not remote.get("enabled") or not remote.get("url"):
            return None
        key = os.environ.get(remote.get("api_key_env") or "", "") if remote.get("api_key_env") else ""
        return cls(remote["url"], remote.get("model") or "default", api_key=key, timeout_s=float(remote.get("timeout_s", 30.0)))

    def complete(self, system: str, prompt: str, *, max_tokens: int, sensitive: bool = False) -> RemoteReply:
        if sensitive:
            raise ModelError("refusing to send a sensitive record to the remote tier", tier="remote")
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        body = json.dumps({"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": 0}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(f"{self.url}/chat/completions", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                data = json.loads(resp.read().decode())
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            raise ModelError(f"remote tier at {self.url} failed: {exc}", tier="remote") from exc
        try:
            text = data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as exc:
            raise ModelError(f"remote tier at {self.url} answered without choices[0].message.content", tier="remote") from exc
        usage = data.get("usage") or {}
        return RemoteReply(text.strip(), int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)))
