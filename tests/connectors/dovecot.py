"""A real Dovecot IMAP server on 127.0.0.1 with a throwaway user, started and stopped by a fixture.

Debian's ``dovecot-imapd`` (``make test`` installs it when missing) runs from a
private config in a temporary folder: its own base_dir, state, log, password
file and Maildir, on a free port, with plaintext login allowed on loopback.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

USER, PASSWORD = "maja", "Imap-Pass-4d2b"

CONFIG = """protocols = imap
first_valid_uid = 100
listen = 127.0.0.1
base_dir = {tmp}/run
state_dir = {tmp}/run/state
log_path = {tmp}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
mail_max_userip_connections = 50
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {tmp}/passwd
}}
userdb {{
  driver = passwd-file
  args = {tmp}/passwd
}}
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    """One Dovecot instance; :attr:`maildir` is the user's mail on disk (to check what the server holds)."""

    def __init__(self, tmp: Path) -> None:
        if shutil.which("dovecot") is None:
            raise RuntimeError("dovecot is not installed: `make test` installs Debian's dovecot-imapd; "
                               "or run: apt-get install -y dovecot-imapd")
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o755)
        dove = pwd.getpwnam("dovecot")
        self.port = _port()
        home = tmp / "mail" / USER
        self.maildir = home / "Maildir"
        self.maildir.mkdir(parents=True)
        for path in (tmp / "mail", home, self.maildir):
            os.chown(path, dove.pw_uid, dove.pw_gid)
        digest = subprocess.run(["doveadm", "pw", "-s", "SHA512-CRYPT", "-p", PASSWORD], capture_output=True, text=True,
                                check=True).stdout.strip()
        (tmp / "passwd").write_text(f"{USER}:{digest}:{dove.pw_uid}:{dove.pw_gid}::{home}::\n")
        (tmp / "dovecot.conf").write_text(CONFIG.format(tmp=tmp, port=self.port))
        # it daemonises: its stdout and stderr must not be pipes this process waits on
        subprocess.run(["dovecot", "-c", str(tmp / "dovecot.conf")], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not start: {(tmp / 'dovecot.log').read_text()[-2000:]}")

    def settings(self, *, sent: bool = True) -> str:
        """``[connectors.email]`` lines that point the connector's IMAP side here."""
        lines = ['imap_host = "127.0.0.1"', f"imap_port = {self.port}", 'imap_security = "none"',
                 f'imap_username = "{USER}"', 'imap_password = "secret:imap"']
        if sent:
            lines.append('sent = "imap"')
        return "\n".join(lines)

    def stop(self) -> None:
        pid_file = self.tmp / "run" / "master.pid"
        if not pid_file.exists():
            return
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
