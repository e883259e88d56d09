"""Generators of hostile input for the boundaries: values of every wrong kind, and source files.

Each strategy mixes ordinary values (so that the happy path is exercised too) with the
ones a hostile user tries: wrong types, lone surrogates and NULs, huge and deeply nested
values, times outside the calendar, non-finite numbers, broken encodings, and files
that are truncated, oversized, or nested thousands of levels deep.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

SURROGATE = "\ud800"


class Deep(list):
    """A list nested ``depth`` levels deep, shown by its depth (printing it whole would overflow the stack)."""

    depth = 0

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(f"nested({self.depth}, kind='list')")


class DeepDict(dict):
    depth = 0

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(f"nested({self.depth}, kind='dict')")


class Big(str):
    """A long text, shown by its length."""

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(f"{self[:1]!r} * {len(self)}")


def nested(depth: int, leaf: Any = 1, kind: str = "list") -> Any:
    """A value ``depth`` levels deep, built without recursion."""
    value = leaf
    for _ in range(depth - 1):
        value = [value] if kind == "list" else {"k": value}
    out: Any = Deep([value]) if kind == "list" else DeepDict(k=value)
    out.depth = depth
    return out


def big(n: int, ch: str = "x") -> Big:
    return Big(ch * n)


# -- atoms -------------------------------------------------------------------------------------

plain_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
words = st.lists(st.sampled_from(["invoice", "depot", "Nordlys", "budget", "call", "café", "Müller", "draft"]),
                 min_size=1, max_size=6).map(" ".join)
nasty_text = st.one_of(
    st.text(st.characters(categories=("Cs", "Cc", "Zs", "L", "So")), max_size=40),  # surrogates and controls
    st.sampled_from(["", " ", "\x00", "a\x00b", SURROGATE, f"x{SURROGATE}y", "\udcff", "\n\r\t", "\u202e", "\ufeff"]),
    st.integers(1, 4).map(lambda k: big(10 ** (k + 2) + 1)),
    st.just(big(1_000_001, "z")),
)
texts = st.one_of(words, plain_text, nasty_text)

numbers = st.one_of(
    st.integers(-(2 ** 70), 2 ** 70),
    st.sampled_from([0, -1, 1, 2 ** 63, -(2 ** 63) - 1, 10 ** 30, 1e20, -1e20, 1e300, 0.5, -0.0]),
    st.floats(allow_nan=True, allow_infinity=True),
)
wrong_types = st.one_of(
    st.none(), st.booleans(), st.binary(max_size=20), st.sampled_from([b"\xff\xfe", bytearray(b"ab")]),
    st.builds(object), st.sets(st.integers(), max_size=3), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.integers(), st.integers(), max_size=2), st.just(Decimal("NaN")), st.just(dt.timedelta(days=-1)),
)
deep = st.tuples(st.sampled_from([5, 31, 33, 200, 2_000, 100_000]), st.sampled_from(["list", "dict"])).map(
    lambda t: nested(t[0], kind=t[1]))

times = st.one_of(
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(1, 1, 3)),
    st.datetimes(min_value=dt.datetime(9999, 12, 30), max_value=dt.datetime(9999, 12, 31, 23)).map(
        lambda d: d.replace(tzinfo=dt.timezone(dt.timedelta(hours=-5)))),
    st.dates(),
    st.sampled_from(["2023-05-08", "2023-05-08T13:56", "8 May 2023", "1:56 pm on 8 May, 2023", "tomorrow", "0999-01-01",
                     "10000-01-01", "2023-02-30", "", "   ", "Z", "2023-05-08T13:56:00+25:00", "9999-12-31T23:59:59-05:00"]),
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2 ** 70), 2 ** 70),
)

hostile = st.one_of(texts, numbers, wrong_types, deep, times)
"""Any value at all, mostly wrong."""

json_leaf = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                st.dictionaries(st.one_of(plain_text, texts), inner, max_size=3)),
                           max_leaves=8)
metas = st.one_of(st.none(), st.dictionaries(plain_text, json_values, max_size=4), deep.map(lambda v: {"deep": v}),
                  hostile)


ONE_IN_4 = st.sampled_from([True, True, True, False])
ONE_IN_10 = st.sampled_from([True] * 9 + [False])
ONE_IN_20 = st.sampled_from([True] * 19 + [False])
"""True but one time in N (sampled, so the choice is roughly even: integers lean towards their bounds)."""


def sometimes(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any] = hostile) -> st.SearchStrategy[Any]:
    """Mostly ``good``, sometimes ``bad``: each example stays close to valid, so deep paths are reached."""
    return st.one_of(good, good, good, bad)


# -- e-mail ----------------------------------------------------------------------------------------

addresses = st.one_of(st.sampled_from(["ingrid@nordlys.no", "Felix Brandt <felix@brightwater-logistics.de>", "a@",
                                       "@b", "<>", "\"a,b\" <x@y.z>", "=?utf-8?q?J=C3=BCrgen?= <j@x.de>",
                                       "=?x-nope?q?abc?= <a@b.c>", "=?utf-7?q?+2D3cAA-?= <a@b.c>", ""]),
                      plain_text)
dates = st.one_of(st.sampled_from(["Mon, 02 Nov 2026 09:12:04 +0100", "Fri, 31 Dec 9999 23:00:00 -0500",
                                   "Mon, 01 Jan 0001 00:00:00 +0100", "sometime last week", "", "Mon, 32 Foo 2026"]),
                  plain_text)
charsets = st.sampled_from(["utf-8", "us-ascii", "latin-1", "utf-7", "x-nope", "utf-16", "", "utf-8\"; x=\"y"])


good_from = st.sampled_from(["Ingrid Solberg <ingrid@nordlys.no>", "felix.brandt@brightwater-logistics.de",
                             '"Lindgren, Maja" <maja@lindgren-advisory.com>', "=?utf-8?q?J=C3=BCrgen?= <j@x.de>"])
good_date = st.sampled_from(["Mon, 02 Nov 2026 09:12:04 +0100", "Tue, 3 Nov 2026 10:00:00 -0500"])
good_id = st.integers(0, 10 ** 6).map(lambda n: f"<m{n}@example.org>")


@st.composite
def emails(draw: st.DrawFn) -> bytes:
    """An .eml file: mostly well-formed headers with hostile ones mixed in, a body of one part or of nested multiparts."""
    headers = []
    for name, values in (("From", sometimes(good_from, addresses)), ("To", addresses), ("Date", sometimes(good_date, dates)),
                         ("Subject", sometimes(words, texts)),
                         ("Message-ID", sometimes(good_id, st.sampled_from(["<>", "", "<x@y> <z@w>", "no-brackets"]))),
                         ("In-Reply-To", st.sampled_from(["", "<a@b>"])), ("References", st.sampled_from(["", "<a@b> <c@d>"]))):
        if draw(ONE_IN_20):  # a header left out, now and then
            headers.append(f"{name}: {draw(values)}")
    if not draw(ONE_IN_10):
        size = draw(st.sampled_from([10_000, 70_000, 1_100_000]))
        headers.append("To: " + ", ".join(f"u{i}@example.com" for i in range(size // 16)))
    depth = draw(st.sampled_from([0, 0, 0, 1, 2, 3, 17, 120, 2_000]))
    charset = draw(charsets)
    body_text = draw(sometimes(words, texts))
    leaf = f"Content-Type: text/{draw(st.sampled_from(['plain', 'plain', 'html']))}; charset={charset}\n" \
           f"Content-Transfer-Encoding: {draw(st.sampled_from(['8bit', 'base64', 'quoted-printable', 'x-bad']))}\n\n{body_text}\n"
    body = leaf
    for i in reversed(range(depth)):
        body = f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n{body}--b{i}--\n'
    text = "\n".join(headers) + ("\nMIME-Version: 1.0\n" if depth else "\n") + body
    data = text.encode("utf-8", "surrogatepass")
    cut = draw(st.sampled_from([None, None, None, 0.5, 0.9]))
    if cut is not None:
        data = data[: int(len(data) * cut)]
    if not draw(ONE_IN_10):
        data = data.replace(b"\n", b"\r\n")
    if not draw(ONE_IN_10):
        data += draw(st.binary(max_size=40))
    return data


# -- CSV, notes, TOML --------------------------------------------------------------------------------

cells = st.one_of(st.sampled_from(["NRD-01", "BRW-01", "2026-10-01", "0999-01-01", "3.5", "inf", "nan", "-1", "1e308",
                                   "three", "", "\"unclosed", "a,b", big(140_000), "\x00"]), plain_text)


@st.composite
def timesheets(draw: st.DrawFn) -> bytes:
    header = draw(sometimes(st.just("date,project,hours,description"),
                            st.sampled_from(["date,project,hours", "a,b,c,d", ""])))
    rows = []
    for _ in range(draw(st.sampled_from([1, 2, 0, 3]))):
        row = [draw(sometimes(st.sampled_from(["2026-10-01", "2026-11-30"]), cells)),
               draw(sometimes(st.sampled_from(["NRD-01", "BRW-01"]), cells)),
               draw(sometimes(st.sampled_from(["3.5", "1", "0.25"]), cells)), draw(sometimes(words, cells))]
        rows.append(",".join(row) if draw(ONE_IN_10) else ",".join(row[:3]) + ",,x")
    data = "\n".join([header, *rows]).encode("utf-8", "surrogatepass")
    return data if draw(ONE_IN_10) else data + b"\xff\xfe"


@st.composite
def notes(draw: st.DrawFn) -> bytes:
    front = "\n".join(f"{k}: {draw(st.one_of(cells, texts))}" for k in draw(st.lists(
        st.sampled_from(["title", "date", "kind", "client", "project", "flags", "bad line"]), max_size=4)))
    opened = draw(st.sampled_from(["---\n", "---\n", ""]))
    closed = draw(st.sampled_from(["\n---\n", "\n---\n", ""]))
    data = f"{opened}{front}{closed}{draw(texts)}".encode("utf-8", "surrogatepass")
    return data if draw(ONE_IN_10) else b"\xff" + data


toml_values = st.one_of(st.sampled_from(['"x"', "1", "nan", "inf", "-inf", "1e400", "true", "[1, 2]", '"\\u0000"',
                                         "99999999999999999999999", '"a@b.c"', "{a = 1}", "0.5", "2"]),
                        st.sampled_from([8, 40, 600]).map(lambda d: "[" * d + "]" * d))
toml_keys = st.sampled_from(["workspace.name", "workspace.email", "policies.min_confidence", "budgets.daily_money",
                             "budgets.daily_tokens", "memory.kinds", "models.batch_size", "schedule.x.parameters",
                             "memory.retention.forever.ttl_days", "nope", "connectors.ledger.port", "dask.workers"])


@st.composite
def toml_files(draw: st.DrawFn) -> bytes:
    lines = [f"{draw(toml_keys)} = {draw(toml_values)}" for _ in range(draw(st.integers(0, 4)))]
    data = "\n".join(lines).encode()
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return data[: len(data) // 2]
    if kind == 1:
        return b"[workspace]\nname = \"\xff\xfe\"\n"
    return data
