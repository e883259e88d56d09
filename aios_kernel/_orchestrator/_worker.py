"""Who holds a lease, and whether that worker is still alive.

A worker id is ``host/pid/start/token``: the process's start time (from
``/proc``) tells a live process from a later one that reused its pid, so a
task leased by a process that was killed is taken back at once instead of
after its lease runs out. Workers on other hosts (or where ``/proc`` is
missing) are judged by lease expiry alone.
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache


@lru_cache(maxsize=1)
def _host() -> str:
    return socket.gethostname()


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its closing paren.
    fields = stat.rsplit(")", 1)[-1].split()
    if not fields or fields[0] in ("Z", "X"):  # a killed child not yet reaped is dead too
        return None
    return fields[19] if len(fields) > 19 else None


def new_worker_id() -> str:
    """A fresh id for one runner in this process."""
    pid = os.getpid()
    return f"{_host()}/{pid}/{_start_time(pid) or '?'}/{os.urandom(3).hex()}"


def owner_alive(owner: str | None) -> bool | None:
    """True/False when we can tell (same host), None when only the lease can say."""
    if not owner:
        return False
    parts = owner.split("/")
    if len(parts) != 4 or parts[0] != _host():
        return None
    try:
        pid = int(parts[1])
    except ValueError:
        return None
    if parts[2] == "?":
        return None
    started = _start_time(pid)
    if started is None:
        return False if os.path.isdir("/proc") else None
    return started == parts[2]
