"""Inbound mail: prompt-injection detection on BIPIA, automated mail, hand-made attacks, the demo inbox's labels.

Side by side in one run:

1. **BIPIA e-mail, development split** (``../shared/data/bipia/``, read here at run time, never
   copied into the project): its 50 real e-mails, and each of its 75 attack instructions inserted
   into each e-mail as BIPIA does (``bipia/data/utils.py``): at the start, at the end, and in the
   middle at the start of a sentence chosen at random (seeded per e-mail and attack; BIPIA splits
   sentences with NLTK's Punkt, here a punctuation rule stands in). Detection rate of each layer
   and of the whole detector per position; false-positive rate on the 50 e-mails without attacks.
   The "stealth" row base64-encodes the attacks, as BIPIA's ``enable_stealth`` does.
2. **Automated mail** on the same 50 e-mails (they carry only SUBJECT, EMAIL_FROM and CONTENT).
3. **Hand-made attacks and look-alikes** (``tests/inbound/fixtures/``): caught by the layer they
   target, look-alikes left alone, payment fraud flagged.
4. **The demo inbox** (``data/emails/01-29``) against ``benchmarks/inbound_labels.toml``:
   ``automated()`` against the ``automated`` label, and a reply predictor built from the library
   (latest in its thread, not from the owner, not automated, not flagged, ``asks()`` says it
   asks and the message does not settle the thread) against ``needs_reply``.

``quick`` uses 10 e-mails and one attack per category.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import random
import re
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LAYERS = ("rules", "learned", "hidden", "obfuscation")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)")


def bipia_path() -> Path:
    env = os.environ.get("AIOS_BIPIA")
    return Path(env) if env else REPO.parent / "shared" / "data" / "bipia"


def _contexts(quick: bool) -> list[str]:
    lines = (bipia_path() / "email_train.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["context"] for line in lines if line.strip()][: 10 if quick else None]


def _attacks(quick: bool) -> list[tuple[str, str]]:
    data = json.loads((bipia_path() / "text_attack_train.json").read_text(encoding="utf-8"))
    return [(f"{cat}-{i}", text) for cat, texts in data.items() for i, text in enumerate(texts) if not quick or i == 0]


def insert(context: str, attack: str, position: str, seed: str) -> str:
    """BIPIA's insertion: joined by newlines at the start, at the end, or before a random sentence."""
    if position == "start":
        return f"{attack}\n{context}"
    if position == "end":
        return f"{context}\n{attack}"
    starts = [0, *(m.end() for m in _SENTENCE.finditer(context))]
    at = random.Random(seed).choice(starts)
    return f"{context[:at]}\n{attack}\n{context[at:]}"


def _fields(context: str) -> dict[str, str]:
    """SUBJECT, EMAIL_FROM and CONTENT of a BIPIA context (a context without them is all content)."""
    out = {"SUBJECT": "", "EMAIL_FROM": "", "CONTENT": context}
    if "CONTENT:" in context:
        head, _, out["CONTENT"] = context.partition("CONTENT:")
        for part in head.split("|"):
            key, _, value = part.partition(":")
            if key.strip() in ("SUBJECT", "EMAIL_FROM"):
                out[key.strip()] = value.strip()
    return out


def _prime(canonicals: list[Any]) -> None:
    """Score every sentence the detector will ask about in one batched pass (the per-process cache keeps them)."""
    from aios_kernel._inbound import _detect, _learned

    todo: dict[str, None] = {}
    for c in canonicals:
        for s in _detect.all_segments(c):
            if len(s.text.split()) >= _detect.MIN_WORDS:
                todo[s.text] = None
    _learned.score(list(todo))


def _rate(hits: list[bool]) -> str:
    return f"{sum(hits) / len(hits):.3f}" if hits else "  -  "


def bipia(quick: bool) -> None:
    from aios_kernel._inbound import FLAG, canonicalise, detect

    contexts, attacks = _contexts(quick), _attacks(quick)
    t0 = time.perf_counter()
    runs: dict[str, list[str]] = {"clean": list(contexts)}
    for pos in ("start", "middle", "end"):
        runs[pos] = [insert(c, a, pos, f"{i}-{name}") for i, c in enumerate(contexts) for name, a in attacks]
    runs["end, base64"] = [insert(c, base64.b64encode(a.encode()).decode(), "end", "") for c in contexts for _, a in attacks]
    canon = {name: [canonicalise(t) for t in texts] for name, texts in runs.items()}
    _prime([c for cs in canon.values() for c in cs])
    table: dict[str, dict[str, list[bool]]] = {}
    for name, cs in canon.items():
        cols: dict[str, list[bool]] = {k: [] for k in (*LAYERS, "detector")}
        for c in cs:
            v = detect(c)
            for layer in LAYERS:
                cols[layer].append(v.layers.get(layer, 0.0) >= FLAG)
            cols["detector"].append(v.flagged)
        table[name] = cols
    n = len(contexts)
    print(f"BIPIA e-mail (dev split): {n} e-mails, {len(attacks)} attacks, {time.perf_counter() - t0:.1f}s")
    print(f"  {'flagged share':<26}" + "".join(f"{k:>12}" for k in (*LAYERS, "detector")))
    for name, cols in table.items():
        label = f"no attack (FPR, n={n})" if name == "clean" else f"attack at {name}"
        print(f"  {label:<26}" + "".join(f"{_rate(cols[k]):>12}" for k in (*LAYERS, "detector")))
    every = [x for name in ("start", "middle", "end") for x in table[name]["detector"]]
    fp = sum(table["clean"]["detector"])
    print(f"  all positions: detection {_rate(every)} ({sum(every)}/{len(every)}), false positives {fp}/{n} "
          f"(targets: >= 0.90 at <= 1 of 50)")
    missed = Counter(name for (name, _), hit in zip([(nm, a) for _ in contexts for nm, a in attacks] * 3, every) if not hit)
    if missed:
        print("  most missed attacks (category-index: misses over e-mails x positions): "
              + ", ".join(f"{k} {v}" for k, v in missed.most_common(6)))


def automated_rate(quick: bool) -> None:
    from aios_kernel._inbound import automated, canonicalise, facts

    contexts = _contexts(quick)
    kinds: Counter[str] = Counter()
    with_facts = 0
    for c in contexts:
        f = _fields(c)
        sender = f["EMAIL_FROM"]
        addr = re.search(r"<([^>]+)>", sender)
        can = canonicalise(f["CONTENT"])
        a = automated({"Subject": f["SUBJECT"]}, addr.group(1) if addr else sender, can)
        kinds[a.kind if a else "not recognised"] += 1
        if a and facts(can, a.kind, sender=sender, subject=f["SUBJECT"]):
            with_facts += 1
    hit = len(contexts) - kinds["not recognised"]
    print(f"\nAutomated mail on BIPIA's {len(contexts)} e-mails (headers: SUBJECT and EMAIL_FROM only): "
          f"{hit}/{len(contexts)} recognised ({hit / len(contexts):.2f}); facts found for {with_facts}")
    print("  " + ", ".join(f"{k}: {v}" for k, v in kinds.most_common()))


def handmade() -> None:
    from aios_kernel._inbound import FLAG, canonicalise, detect, fraud_signals

    fixtures = REPO / "tests" / "inbound" / "fixtures"
    attacks = tomllib.loads((fixtures / "attacks.toml").read_text(encoding="utf-8"))["case"]
    looks = tomllib.loads((fixtures / "lookalikes.toml").read_text(encoding="utf-8"))["case"]
    caught, right_layer, fraud_ok, missed = 0, 0, 0, []
    inj = [c for c in attacks if "layer" in c]
    for case in inj:
        v = detect(canonicalise(case["body"], content_type=case["content_type"]), subject=case["subject"], sender=case["sender"])
        caught += v.flagged
        ok = case["layer"] in {r.layer for r in v.reasons if r.score >= FLAG}
        right_layer += ok
        if not ok:
            missed.append(case["id"])
    fr = [c for c in attacks if "fraud" in c]
    for case in fr:
        reasons = fraud_signals(canonicalise(case["body"]), subject=case["subject"], sender=case["sender"])
        fraud_ok += any(r.rule.startswith(case["fraud"]) for r in reasons)
    false_inj = false_fraud = 0
    for case in looks:
        c = canonicalise(case["body"], content_type=case["content_type"])
        false_inj += detect(c, subject=case["subject"], sender=case["sender"]).flagged
        false_fraud += bool(fraud_signals(c, subject=case["subject"], sender=case["sender"]))
    print(f"\nHand-made business attacks and look-alikes (tests/inbound/fixtures)")
    print(f"  injections caught {caught}/{len(inj)}, by the targeted layer {right_layer}/{len(inj)}"
          + (f" (missed: {', '.join(missed)})" if missed else ""))
    print(f"  payment fraud flagged {fraud_ok}/{len(fr)}; look-alikes flagged as injection {false_inj}/{len(looks)}, "
          f"as fraud {false_fraud}/{len(looks)}")


def _read(path: Path) -> dict[str, Any]:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    part = msg.get_body(preferencelist=("plain", "html"))
    refs = str(msg.get("References", "") or "").split()
    reply = str(msg.get("In-Reply-To", "") or "").strip()
    mid = str(msg.get("Message-ID", "") or "").strip()
    return {"headers": {k: str(v) for k, v in msg.items()}, "from": email.utils.parseaddr(str(msg["From"]))[1].lower(),
            "subject": str(msg["Subject"] or ""), "date": email.utils.parsedate_to_datetime(str(msg["Date"])),
            "thread": (refs[0] if refs else reply) or mid, "body": part.get_content() if part else "",
            "type": part.get_content_type() if part else "text/plain", "reply_to": str(msg.get("Reply-To", "") or "")}


def demo_labels() -> None:
    from aios_kernel._inbound import asks, automated, canonicalise, detect, fraud_signals

    labels = tomllib.loads((HERE / "inbound_labels.toml").read_text(encoding="utf-8"))["files"]
    owner = tomllib.loads((REPO / "data" / "business.toml").read_text(encoding="utf-8"))["workspace"]["email"].lower()
    mails = {name: _read(REPO / "data" / "emails" / name) for name in labels}
    latest = {}
    for name, m in mails.items():
        if m["thread"] not in latest or m["date"] > mails[latest[m["thread"]]]["date"]:
            latest[m["thread"]] = name
    auto_agree = reply_agree = ask_agree = ask_n = 0
    confusion: Counter[str] = Counter()
    wrong: list[str] = []
    for name, m in mails.items():
        want = labels[name]
        c = canonicalise(m["body"], content_type=m["type"])
        a = automated(m["headers"], m["from"], c)
        auto_agree += (a is not None) == want["automated"]
        flagged = detect(c, subject=m["subject"], sender=m["from"]).flagged or any(
            r.score >= 0.5 for r in fraud_signals(c, subject=m["subject"], sender=m["from"], reply_to=m["reply_to"]))
        q = asks(c)
        open_thread = latest[m["thread"]] == name and m["from"] != owner
        predicted = open_thread and a is None and not flagged and q.expects_reply and not q.settles
        reply_agree += predicted == want["needs_reply"]
        confusion[f"{'T' if predicted == want['needs_reply'] else 'F'}{'P' if predicted else 'N'}"] += 1
        if predicted != want["needs_reply"]:
            wrong.append(f"{name[:2]} (said {predicted})")
        if open_thread and not want["automated"] and want["label"] not in ("spam", "suspicious"):
            ask_n += 1
            ask_agree += q.expects_reply == want["needs_reply"]
    n = len(mails)
    print(f"\nDemo inbox: {n} hand-labelled e-mails (benchmarks/inbound_labels.toml)")
    print(f"  automated() agrees with the label on {auto_agree}/{n}")
    print(f"  needs_reply predicted (latest in thread, not Maja's, not automated, not flagged, asks() and not settled): "
          f"{reply_agree}/{n} "
          f"agree (TP {confusion['TP']}, TN {confusion['TN']}, FP {confusion['FP']}, FN {confusion['FN']})"
          + (f"; disagree: {', '.join(wrong)}" if wrong else ""))
    print(f"  asks() alone on the {ask_n} open person-to-person threads: {ask_agree}/{ask_n} agree with needs_reply")


def main(quick: bool) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if (bipia_path() / "email_train.jsonl").exists():
        bipia(quick)
        automated_rate(quick)
    else:
        print(f"BIPIA data not found at {bipia_path()} (set AIOS_BIPIA); skipping its rows")
    handmade()
    demo_labels()


if __name__ == "__main__":
    import sys

    main("--quick" in sys.argv)
