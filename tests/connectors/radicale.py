"""A real CalDAV server for the calendar tests: Radicale, run as a subprocess on 127.0.0.1.

Each server has its own config file and storage folder. Without ``users``
anyone may read and write (``[auth] type = none``); with them, logins are
checked against an htpasswd file and each user reaches only their own
calendars. :meth:`Radicale.calendar` makes a fresh calendar collection
(MKCALENDAR) so tests sharing a server never see each other's events;
:meth:`Radicale.events` counts what the server holds, asking it over HTTP.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tests.connectors.conftest import free_port


class Radicale:
    def __init__(self, root: Path, *, users: dict[str, str] | None = None) -> None:
        self.root = root
        self.users = users or {}
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        auth = "type = none"
        rights = "authenticated"
        if self.users:
            (root / "users").write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))
            auth = f"type = htpasswd\nhtpasswd_filename = {root / 'users'}\nhtpasswd_encryption = plain"
            rights = "owner_only"
        (root / "config").write_text(
            f"[server]\nhosts = 127.0.0.1:{self.port}\n[auth]\n{auth}\ndelay = 0\n[rights]\ntype = {rights}\n"
            f"[storage]\nfilesystem_folder = {root / 'collections'}\n[web]\ntype = none\n"
            "[logging]\nlevel = warning\nmask_passwords = True\n")
        self.log = open(root / "radicale.log", "wb")  # noqa: SIM115  (closed in stop)
        self.proc = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(root / "config")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"radicale did not start: {(root / 'radicale.log').read_text()[-2000:]}") from None
                time.sleep(0.05)

    def client(self, user: str = "maja") -> Any:
        import caldav

        return caldav.DAVClient(f"http://127.0.0.1:{self.port}/", username=user, password=self.users.get(user, "x"))

    def calendar(self, user: str = "maja", name: str = "") -> str:
        """A new, empty calendar collection of ``user``; its URL."""
        home = f"http://127.0.0.1:{self.port}/{user}/"
        url = f"{home}{name or 'cal-' + uuid.uuid4().hex[:10]}/"
        client = self.client(user)
        client.request(home, "MKCOL")  # the user's home (405 once it exists)
        response = client.mkcalendar(url)
        assert response.status in (200, 201), response.status
        return url

    def events(self, url: str, user: str = "maja") -> list[Any]:
        """The events the server holds in the calendar at ``url`` (icalendar VEVENTs, asked over HTTP)."""
        import caldav
        import icalendar

        cal = caldav.Calendar(client=self.client(user), url=url)
        out = []
        for obj in cal.events():
            out.extend(icalendar.Calendar.from_ical(obj.data).walk("VEVENT"))
        return out

    def put(self, url: str, uid: str, ics: str, user: str = "maja") -> int:
        """Store ``ics`` as the event ``uid`` (what another calendar application does); the HTTP status."""
        return int(self.client(user).request(f"{url}{uid}.ics", "PUT", ics, {"Content-Type": "text/calendar"}).status)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
