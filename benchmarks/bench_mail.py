"""Mail sync at mailbox scale: 5,000 messages over IMAP (a real Dovecot on 127.0.0.1) and from a Maildir, side by side.

The mailbox is generated (seeded, the same every run) and varied the way an inbox is: plain replies in
threads, HTML newsletters (multipart/alternative, some HTML only), messages with a small attachment
(a PDF, a CSV), German text in quoted-printable, and a few delivery reports (bounces). Each message is
written straight into the Maildir (Dovecot's ``new/``, owned by its user; or the workspace's own
``mail/new``), as a local delivery agent leaves it.

Each source is synced by a fresh process on a fresh workspace (``aios.toml`` with ``imap_host``, the
password as ``secret:imap``; or nothing, for the local Maildir), through ``Workbench.sync_mail``: the
whole path, records, attachments, memory passages and their embeddings (all-MiniLM-L6-v2) included.
Measured in that process:

a. the first sync of the whole mailbox: wall time and messages per second;
b. the process's peak RSS up to the end of that sync (``ru_maxrss``: the imports and the embedding
   model included), next to the RSS just before it started;
c. a second sync with nothing new;
d. a sync after 50 new messages arrived.

``quick`` uses 300 messages. Targets: peak RSS at most 1 GB, the sync with nothing new at most 1 s.
"""

from __future__ import annotations

import json
import os
import pwd
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FULL, QUICK, NEW = 5000, 300, 50
RSS_TARGET_MB = 1024.0
NOTHING_NEW_TARGET_S = 1.0

CLIENTS = ["Nordlicht Architekten", "Harbour & Sons", "Kiln Works", "Atelier Moreau", "Bergmann Logistik",
           "Studio Vela", "Green Fern Cafe", "Lindqvist Design", "Oak & Iron", "Pellegrini Foods", "Tallis Press",
           "Quayside Dental", "Fjord Outfitters", "Mira Textiles", "Copperleaf Hotels", "Stadtwerke Ost"]
FIRST = ["Anna", "Jonas", "Marta", "Luca", "Sofia", "Henrik", "Chloe", "Mehmet", "Ines", "Pavel", "Grace", "Tomasz"]
TOPICS = ["the showroom drawings", "the invoice for October", "the kiln schedule", "the brand guidelines",
          "the website copy", "the quarterly report", "the tender documents", "the photo shoot", "the catalogue proofs",
          "the lease renewal", "the December firing", "the workshop booking", "the colour samples", "the new logo"]
SENTENCES = [
    "Could you have a look at {topic} before Friday?",
    "We went through {topic} with the team and have a few questions.",
    "Attached you will find {topic}; the numbers on page 3 changed since last week.",
    "Thanks for the quick turnaround on {topic}.",
    "The client asked whether {topic} can be ready by the 14th.",
    "I have moved our call about {topic} to Thursday at 10:00.",
    "Please confirm the budget of {amount} EUR for {topic}.",
    "Our accountant needs the reference {ref} on every invoice.",
    "Let me know if anything about {topic} is unclear.",
    "We paid {amount} EUR yesterday, reference {ref}.",
    "The printer needs the final files for {topic} by Monday morning.",
    "Is there any chance to split {topic} into two deliveries?",
]
GERMAN = ["Könnten Sie sich {topic} bis Freitag ansehen?", "Die Überweisung über {amount} EUR ist unterwegs.",
          "Vielen Dank für die schnelle Rückmeldung zu {topic}.", "Grüße aus München und ein schönes Wochenende."]
START = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)


def message(i: int) -> bytes:
    """The ``i``-th message of the mailbox (the same bytes every run)."""
    rnd = random.Random(i)
    client = rnd.choice(CLIENTS)
    person = rnd.choice(FIRST)
    domain = client.lower().replace(" & ", "-").replace(" ", "-") + ".example"
    sender = f"{person} ({client}) <{person.lower()}@{domain}>"
    topic = rnd.choice(TOPICS)
    when = START + timedelta(minutes=37 * i + rnd.randrange(30))
    kind = rnd.random()
    if i % 97 == 13:  # about 1 in 100: a delivery report about a message we sent
        return bounce(i, rnd, when)

    def para(pool: list[str], n: int) -> str:
        return " ".join(rnd.choice(pool).format(topic=topic, amount=f"{rnd.randrange(200, 40000):,}",
                                                ref=f"INV-{rnd.randrange(1000, 9999)}") for _ in range(n))

    body = "Hello Maja,\n\n" + "\n\n".join(para(GERMAN if rnd.random() < 0.1 else SENTENCES, rnd.randrange(2, 7))
                                           for _ in range(rnd.randrange(1, 6))) + f"\n\nBest,\n{person}\n{client}\n"
    msg = EmailMessage()
    msg["From"], msg["To"] = sender, "Maja Lindgren <maja@studio-maja.example>"
    if rnd.random() < 0.2:
        msg["Cc"] = f"{rnd.choice(FIRST).lower()}@{domain}"
    msg["Subject"] = ("Re: " if rnd.random() < 0.3 else "") + f"{topic[4:].capitalize()} ({i})"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<bench{i}.{rnd.randrange(10**9)}@{domain}>"
    if i > 10 and rnd.random() < 0.3:
        earlier = f"<bench{i - rnd.randrange(1, 10)}@{domain}>"
        msg["In-Reply-To"], msg["References"] = earlier, earlier
        body += "\n> " + "\n> ".join(para(SENTENCES, 3).split(". ")) + "\n"
    if kind < 0.55:  # plain text
        msg.set_content(body)
    elif kind < 0.8:  # HTML: newsletters and formatted replies, some without a text part
        html = ("<html><head><style>p{font-family:sans-serif}.hide{display:none}</style></head><body>"
                + "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
                + f'<p><a href="https://{domain}/news?id={i}">Read online</a></p>'
                + '<p class="hide">tracking pixel</p><img src="https://t.example/p.gif" width="1" height="1"></body></html>')
        if rnd.random() < 0.3:
            msg.set_content(html, subtype="html")
        else:
            msg.set_content(body)
            msg.add_alternative(html, subtype="html")
        if rnd.random() < 0.5:
            msg["List-Unsubscribe"] = f"<https://{domain}/unsubscribe?u={i}>"
    else:  # a small attachment
        msg.set_content(body)
        if rnd.random() < 0.6:
            pdf = b"%PDF-1.7\n" + rnd.randbytes(rnd.randrange(2_000, 40_000)) + b"\n%%EOF\n"
            msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"{topic[4:].replace(' ', '_')}-{i}.pdf")
        else:
            rows = "\n".join(f"{d},{rnd.randrange(1, 9)}.{rnd.randrange(10)},{topic}" for d in range(rnd.randrange(5, 200)))
            msg.add_attachment(("date,hours,item\n" + rows).encode(), maintype="text", subtype="csv", filename=f"hours-{i}.csv")
    return bytes(msg)


def bounce(i: int, rnd: random.Random, when: datetime) -> bytes:
    """A delivery status notification (RFC 3464) about one of our messages."""
    to = f"{rnd.choice(FIRST).lower()}@gone-{i}.example"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        "To: maja@studio-maja.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {format_datetime(when)}\r\nMessage-ID: <dsn{i}@mx.example.org>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\n"
        f"Final-Recipient: rfc822; {to}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: maja@studio-maja.example\r\nTo: {to}\r\nSubject: Re: kiln slots\r\n"
        f"Message-ID: <out{i}.aios@studio-maja.example>\r\n\r\n--B--\r\n").encode()


def deliver(folder: Path, start: int, n: int, owner: tuple[int, int] | None = None) -> int:
    """Messages ``start`` .. ``start+n-1`` as files in ``folder/new`` (owned by ``owner``); their bytes in all."""
    total = 0
    for sub in ("", "new", "cur", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        if owner:
            os.chown(folder / sub, *owner)
    for i in range(start, start + n):
        raw = message(i)
        total += len(raw)
        path = folder / "new" / f"{1_700_000_000 + i}.M{i}P1.bench"
        path.write_bytes(raw)
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))  # delivery order is file order
        if owner:
            os.chown(path, *owner)
    return total


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def child(root: str, deliver_to: str, n: int, owned: bool) -> None:
    """One fresh process: the three syncs of one workspace (see the module docstring); prints one JSON line."""
    from aios_kernel import Workbench
    from tests.connectors.dovecot import PASSWORD

    with Workbench.open(root) as wb:
        if owned:
            wb.secrets.set("imap", PASSWORD)
        before = _rss_mb()
        t0 = time.perf_counter()
        first = wb.sync_mail()
        first_s = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        second = wb.sync_mail()
        second_s = time.perf_counter() - t0
        dove = pwd.getpwnam("dovecot") if owned else None
        deliver(Path(deliver_to), n, NEW, (dove.pw_uid, dove.pw_gid) if dove else None)
        t0 = time.perf_counter()
        third = wb.sync_mail()
        third_s = time.perf_counter() - t0
        rejected = len(wb.records("ingest_rejections"))
        bounces = sum(1 for a in wb.records("artifacts") if (a.get("meta") or {}).get("delivery"))
    print(json.dumps({"first_s": first_s, "first": first.to_json(), "rss_before_mb": before, "peak_mb": peak,
                      "second_s": second_s, "second": second.to_json(), "third_s": third_s, "third": third.to_json(),
                      "rejections": rejected, "bounces": bounces}))


def model_alone(n: int) -> None:
    """One fresh process: the embedding model loaded and run over ``n`` passages of these messages, no mail sync."""
    from aios_kernel._entities._sources import parse_email
    from aios_kernel._memory._embed import DaskEmbedder

    texts = [parse_email(message(i), "m", Path("m")).body[:1500] for i in range(n) if i % 97 != 13]
    before = _rss_mb()
    t0 = time.perf_counter()
    DaskEmbedder().embed(texts, lambda positions, vectors: None, progress=False)
    print(json.dumps({"rss_before_mb": before, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "seconds": time.perf_counter() - t0, "texts": len(texts)}))


def _run_child(root: Path, deliver_to: Path, n: int, owned: bool) -> dict[str, Any]:
    code = f"from benchmarks.bench_mail import child; child({str(root)!r}, {str(deliver_to)!r}, {n}, {owned})"
    return _python(code)


def _python(code: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"the sync process failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _workspace(root: Path, imap: str = "") -> None:
    from aios_kernel import Workbench

    Workbench.init(root).close()
    if imap:
        cfg = root / "aios.toml"
        cfg.write_text(cfg.read_text().replace("[connectors.email]\n", f"[connectors.email]\n{imap}\n", 1))


def main(quick: bool) -> None:
    from tests.connectors.dovecot import Dovecot

    n = QUICK if quick else FULL
    results: dict[str, dict[str, Any]] = {}
    base = Path(tempfile.mkdtemp(prefix="aios-bench-mail-"))
    base.chmod(0o755)  # Dovecot's own users traverse it
    keys = base / "keys"
    old_keys = os.environ.get("AIOS_KEY_DIR"), os.environ.get("AIOS_KEYRING")
    os.environ["AIOS_KEY_DIR"], os.environ["AIOS_KEYRING"] = str(keys), "off"  # never the operator's own key folder
    server = None
    try:
        server = Dovecot(base / "server")
        dove = pwd.getpwnam("dovecot")
        _workspace(base / "imap-ws", server.settings(sent=False))
        _workspace(base / "maildir-ws")
        t0 = time.perf_counter()
        size = deliver(server.maildir, 0, n, (dove.pw_uid, dove.pw_gid))
        deliver(base / "maildir-ws" / "mail", 0, n)
        made = time.perf_counter() - t0
        print(f"{n:,} messages, {size / 2**20:.1f} MiB ({size / n / 1024:.1f} KiB on average), generated and delivered "
              f"into both Maildirs in {made:.1f} s; Dovecot {server.port} on 127.0.0.1")
        results["IMAP (Dovecot)"] = _run_child(base / "imap-ws", server.maildir, n, True)
        results["Maildir"] = _run_child(base / "maildir-ws", base / "maildir-ws" / "mail", n, False)
        alone = _python("from benchmarks.bench_mail import model_alone; model_alone(256)")
    finally:
        if server is not None:
            server.stop()
        for name, value in zip(("AIOS_KEY_DIR", "AIOS_KEYRING"), old_keys):
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(base, ignore_errors=True)
    _table(n, results)
    print(f"the embedding model alone, in a fresh process (no mail sync): {alone['texts']} passages in "
          f"{alone['seconds']:.1f} s, peak RSS {alone['peak_mb']:.0f} MB (RSS before {alone['rss_before_mb']:.0f} MB)")


def _table(n: int, results: dict[str, dict[str, Any]]) -> None:
    names = list(results)
    rows: list[tuple[str, str, list[str], list[bool | None]]] = []

    def row(label: str, target: str, values: list[str], oks: list[bool | None]) -> None:
        rows.append((label, target, values, oks))

    r = [results[k] for k in names]
    row(f"(a) first sync, {n:,} messages", "", [f"{x['first_s']:.1f} s" for x in r], [None] * len(r))
    row("    messages/s", "", [f"{x['first']['fetched'] / x['first_s']:.0f}" for x in r], [None] * len(r))
    row("    recorded / refused / too large", "",
        [f"{x['first']['written']} / {len(x['first']['rejected'])} / {len(x['first']['skipped'])}" for x in r],
        [x["first"]["written"] == n for x in r])
    row("    delivery reports recorded", "", [str(x["bounces"]) for x in r], [None] * len(r))
    row("(b) peak RSS, first sync", f"<= {RSS_TARGET_MB:.0f} MB", [f"{x['peak_mb']:.0f} MB" for x in r],
        [x["peak_mb"] <= RSS_TARGET_MB for x in r])
    row("    RSS before the sync", "", [f"{x['rss_before_mb']:.0f} MB" for x in r], [None] * len(r))
    row("(c) second sync, nothing new", f"<= {NOTHING_NEW_TARGET_S:.0f} s", [f"{x['second_s']:.2f} s" for x in r],
        [x["second_s"] <= NOTHING_NEW_TARGET_S and x["second"]["fetched"] == 0 for x in r])
    row(f"(d) sync of {NEW} new messages", "", [f"{x['third_s']:.2f} s ({x['third']['written']} recorded)" for x in r],
        [x["third"]["written"] == NEW for x in r])
    width = max(len(x[0]) for x in rows)
    cols = [max(len(k), *(len(v[2][i]) + 7 for v in rows)) for i, k in enumerate(names)]
    print(f"{'':<{width}}  {'target':<10}" + "".join(f"  {k:>{c}}" for k, c in zip(names, cols)))
    for label, target, values, oks in rows:
        cells = [f"{v} {('ok' if ok else 'MISSED') if ok is not None else '':<6}".rstrip() for v, ok in zip(values, oks)]
        print(f"{label:<{width}}  {target:<10}" + "".join(f"  {c_:>{c}}" for c_, c in zip(cells, cols)))
    missed = [label.strip() for label, _, _, oks in rows if any(ok is False for ok in oks)]
    print("every target met" if not missed else f"MISSED: {', '.join(missed)}")


if __name__ == "__main__":
    main("--quick" in sys.argv)
