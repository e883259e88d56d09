"""A calendar on a CalDAV server (RFC 4791), through the ``caldav`` package.

Each event is one resource; ours live at ``<calendar>/<UID>.ics``, so the
resource of an effect is known from its key alone. Writes are conditional, as
RFC 4791 and RFC 7232 intend: a new event is put with ``If-None-Match: *`` (the
server answers 412 when it already holds it: an earlier attempt got through),
a move or a cancellation with ``If-Match`` and the version it was decided on
(412 when somebody changed the event meanwhile: nothing is overwritten).

Errors say what to do: a refused login names the settings, an unknown calendar
lists the ones there are, a server error or a lost connection is transient
(the broker retries it; retrying a conditional write is safe).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from ..._errors import ConnectorError, missing_dependency
from .._http import retry_after
from ._icsfile import Stored
from ._ics import etag_of, master, parse

OURS = "aios-"
"""UIDs that start so were made by this connector and live at the resource their UID names."""


class CalDav:
    """One calendar collection on a CalDAV server."""

    def __init__(self, url: str, calendar: str, username: str, password: Any, timeout_s: float, connector: str) -> None:
        self.url = url if url.endswith("/") or calendar else url + "/"
        self.name = calendar
        self.username = username
        self.password = password
        self.timeout_s = timeout_s
        self.connector = connector
        self._client: Any = None
        self._collection: Any = None

    def describe(self) -> str:
        return f"caldav {self.url}" + (f" (calendar {self.name!r})" if self.name else "")

    # -- the connection -----------------------------------------------------------------------

    def collection(self) -> Any:
        if self._collection is None:
            try:
                import caldav
            except ImportError:
                raise missing_dependency("caldav") from None
            secret = self.password.reveal() if hasattr(self.password, "reveal") else (self.password or None)
            self._client = caldav.DAVClient(url=self.url, username=self.username or None, password=secret,
                                            timeout=self.timeout_s)
            if self.name:
                found = self._guard("find the calendar", lambda: self._client.principal().calendars())
                names = {str(c.get_display_name() or c.url).strip(): c for c in found}
                if self.name not in names:
                    raise ConnectorError(f"the CalDAV server at {self.url} has no calendar {self.name!r} for "
                                         f"{self.username or 'this login'}; it has: {', '.join(sorted(names)) or 'none'}. "
                                         f"Set [connectors.{self.connector}] calendar to one of them",
                                         connector=self.connector)
                self._collection = names[self.name]
            else:
                self._collection = caldav.Calendar(client=self._client, url=self.url)
        return self._collection

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.session.close()
            except Exception:  # noqa: BLE001  (closing is best effort)
                pass
        self._client = self._collection = None

    def _href(self, uid: str) -> str:
        return str(self.collection().url.join(quote(uid, safe="@-._") + ".ics"))

    def _request(self, method: str, url: str, body: str = "", headers: dict[str, str] | None = None) -> Any:
        return self._guard(f"{method} {url}", lambda: self._client.request(url, method, body, headers or {}))

    def _guard(self, what: str, call: Any) -> Any:
        """Run ``call``; a lost connection, a refused login or a server error becomes a ConnectorError that says so."""
        import requests
        from caldav.lib import error

        try:
            return call()
        except error.AuthorizationError as exc:
            raise ConnectorError(f"the CalDAV server at {self.url} refused the login of {self.username!r} "
                                 f"({exc.reason}); check [connectors.{self.connector}] username and the secret named "
                                 "by password", connector=self.connector) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ConnectorError(f"the CalDAV server at {self.url} could not be reached to {what} "
                                 f"({type(exc).__name__}); it will be tried again", connector=self.connector,
                                 transient=True) from None
        except error.NotFoundError:
            raise ConnectorError(f"there is no calendar at {self.url}; check [connectors.{self.connector}] url",
                                 connector=self.connector) from None
        except error.DAVError as exc:
            raise ConnectorError(f"the CalDAV server at {self.url} failed to {what}: {exc.reason}; it will be tried "
                                 "again", connector=self.connector, transient=True) from None

    def _failed(self, response: Any, what: str) -> ConnectorError:
        status = int(response.status)
        said = " ".join(str(getattr(response, "raw", "") or response.reason).split())[:200]
        if status == 404:
            return ConnectorError(f"there is no calendar at {self.url} (404 to {what}); check [connectors.{self.connector}] "
                                  "url", connector=self.connector)
        transient = status >= 500 or status in (408, 423, 429)
        retry = retry_after(response.headers.get("Retry-After")) if transient else None
        return ConnectorError(f"the CalDAV server at {self.url} answered {status} to {what}: {said}"
                              + ("; it will be tried again" if transient else "; not retried: the event must change"),
                              connector=self.connector, transient=transient, retry_after=retry)

    # -- reading ------------------------------------------------------------------------------

    def calendars(self, start: datetime, end: datetime) -> list[Any]:
        found = self._guard("search events", lambda: self.collection().search(start=start, end=end, event=True, expand=False))
        return [parse(o.data, where=f"the event {o.url} on {self.url}", connector=self.connector) for o in found]

    def get(self, uid: str) -> Stored | None:
        self.collection()
        href = self._href(uid)
        response = self._request("GET", href)
        if response.status == 404 and not uid.startswith(OURS):
            href = self._search(uid)
            response = self._request("GET", href) if href else response
        if response.status == 404:
            return None
        if response.status != 200:
            raise self._failed(response, f"read the event {uid}")
        cal = parse(response.raw, where=f"the event {href} on {self.url}", connector=self.connector)
        event = master(cal, uid)
        if event is None:
            return None
        return Stored(uid, cal, response.headers.get("ETag") or etag_of(event), href)

    def _search(self, uid: str) -> str | None:
        from caldav.lib import error

        try:
            found = self.collection().event_by_uid(uid)
        except error.NotFoundError:
            return None
        except Exception:  # noqa: BLE001  (a server that cannot search by UID: treat as not found, said by the caller)
            return None
        return str(found.url)

    # -- changing -----------------------------------------------------------------------------

    def create(self, uid: str, calendar: Any) -> tuple[Stored, bool]:
        href = self._href(uid)
        response = self._request("PUT", href, calendar.to_ical().decode(),
                                 {"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"})
        if response.status == 412:
            found = self.get(uid)
            if found is None:
                raise ConnectorError(f"the CalDAV server at {self.url} says {href} exists but does not show it; it will "
                                     "be tried again", connector=self.connector, transient=True)
            return found, False
        if response.status not in (200, 201, 204):
            raise self._failed(response, f"create the event {uid}")
        etag = response.headers.get("ETag")
        stored = Stored(uid, calendar, etag or "", href)
        return (stored if etag else (self.get(uid) or stored)), True

    def replace(self, stored: Stored, event: Any, if_match: str) -> str | None:
        cal = stored.calendar
        current = master(cal, stored.uid)
        cal.subcomponents[cal.subcomponents.index(current)] = event
        response = self._request("PUT", stored.href, cal.to_ical().decode(),
                                 {"Content-Type": "text/calendar; charset=utf-8", "If-Match": if_match})
        if response.status == 412:
            return None
        if response.status not in (200, 201, 204):
            raise self._failed(response, f"move the event {stored.uid}")
        return response.headers.get("ETag") or ""

    def delete(self, stored: Stored, if_match: str) -> bool | None:
        response = self._request("DELETE", stored.href, "", {"If-Match": if_match})
        if response.status == 412:
            return None
        if response.status in (200, 204, 404):
            return True
        raise self._failed(response, f"cancel the event {stored.uid}")

