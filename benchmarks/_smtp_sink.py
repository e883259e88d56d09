"""An SMTP server for the crash harness: a separate process, so a killed client never takes it down.

``python -m benchmarks._smtp_sink PORT FOLDER [--drop-every N]`` accepts every
message into ``FOLDER`` (one file each) and, with ``--drop-every N``, closes
the connection without answering the DATA of every Nth message *after*
keeping it: the one case where the client cannot know whether it was sent.
It prints ``ready`` once listening.
"""

from __future__ import annotations

import argparse
import email
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any


def counts(folder: Path) -> Counter[str]:
    """Messages received per Message-ID."""
    out: Counter[str] = Counter()
    for path in folder.glob("*.eml"):
        out[str(email.message_from_bytes(path.read_bytes())["Message-ID"])] += 1
    return out


def main(argv: list[str] | None = None) -> int:
    from aiosmtpd.controller import Controller

    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("folder", type=Path)
    p.add_argument("--drop-every", type=int, default=0)
    ns = p.parse_args(argv)
    ns.folder.mkdir(parents=True, exist_ok=True)
    seen = {"n": 0}

    class Handler:
        async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
            seen["n"] += 1
            path = ns.folder / f"{time.time_ns()}-{os.getpid()}-{seen['n']}.eml"
            tmp = path.with_suffix(".partial")
            tmp.write_bytes(envelope.content)
            tmp.rename(path)
            if ns.drop_every and seen["n"] % ns.drop_every == 0:
                smtp.transport.close()
            return "250 2.0.0 queued"

    controller = Controller(Handler(), hostname="127.0.0.1", port=ns.port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
