"""Looking at memory (frame, plot, %aios memory, CLI) and artifacts flowing in."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from aios_kernel import Workbench

REPO = Path(__file__).resolve().parents[2]


def test_frame_is_polars_and_converts_to_pandas(mem) -> None:
    a = mem.remember("one", meta={"dia_id": "D1:1"}, event_time="2023-05-08")
    mem.remember("two", tier="long-term", kind="fact")
    mem.forget(mem.remember("three"), reason="wrong")
    df = mem.frame()
    assert df.height == 2 and df["id"].to_list()[0] == a.id
    assert df["embedded"].to_list() == [True, True]
    assert str(df["event_time"].dtype).startswith("Datetime")
    assert mem.frame(status=None).height == 3 and mem.frame(tier="long-term").height == 1
    pdf = df.to_pandas()
    assert list(pdf["text"]) == ["one", "two"]


def test_growth_plot_is_a_static_figure(mem) -> None:
    from matplotlib.figure import Figure

    from aios_kernel._memory._explore import growth

    refs = mem.remember_many(["a note", "another note"])
    mem.remember("a fact", tier="long-term", kind="fact")
    mem.move(refs[0], "long-term")
    mem.forget(refs[1], reason="x")
    series = growth(mem.store)
    assert [c for _, c in series["working"]] == [1, 2, 1, 0]
    assert [c for _, c in series["long-term"]] == [1, 2]
    assert set(growth(mem.store, by="tier_kind")) == {"working/note", "long-term/fact", "long-term/note"}
    fig = mem.plot()
    assert isinstance(fig, Figure) and fig.axes[0].get_legend() is not None
    assert isinstance(mem.plot(by="kind"), Figure)


def test_aios_memory_magic_shows_hits_as_html(mwb, monkeypatch) -> None:
    from aios_kernel._kernel import _extension
    from aios_kernel._memory import Hits

    ref = mwb.memory.remember("The steering review is on 20 November.", source="file:notes/review.md")
    mwb.memory.update(ref, "The steering review moved to 21 November.", reason="rescheduled")
    monkeypatch.setitem(_extension._STATE, "wb", mwb)
    hits = _extension.aios_magic('memory "steering review" --k 3')
    assert isinstance(hits, Hits) and hits[0].id == ref.id
    html = hits._repr_html_()
    assert f"mem:{ref.id}@v2" in html and "notes/review.md" in html and "21 November" in html
    assert "memory" in str(_extension.aios_magic("memory stats"))


def test_demo_artifacts_flow_into_memory_idempotently(demo_ws: Path, minilm) -> None:
    with Workbench.open(demo_ws) as wb:
        mem = wb.memory
        n = mem.store.scalar("SELECT count(*) FROM memories WHERE status='active'")
        kinds = {r[0] for r in mem.store.query("SELECT DISTINCT kind FROM memories")}
        assert n > 60 and {"email", "meeting", "note", "document"} <= kinds
        seq = wb.store.last_seq()
        report = mem.ingest_artifacts()
        assert (report.created, report.updated, report.forgotten) == (0, 0, 0) and report.unchanged == n
        assert wb.store.last_seq() == seq
        hit = mem.recall("Brightwater kick-off budget hours", k=3, kind="meeting")[0]
        assert hit.source == "file" and hit.source_ref.startswith("artifact:") and hit.meta["path"].startswith("notes/")
        assert hit.client and hit.project  # the kick-off note is filed under its client and project
        email = mem.recall("invoice", k=1, kind="email")[0]
        assert email.source == "email" and "thread_id" in email.meta and "untrusted" in email.meta


def test_changed_artifact_becomes_a_new_version(demo_ws: Path, tmp_path: Path, minilm) -> None:
    data = tmp_path / "data"
    shutil.copytree(REPO / "data", data)
    note = sorted((data / "notes").glob("*.md"))[0]
    with Workbench.open(demo_ws) as wb:
        before = {r[0]: r[1] for r in wb.store.query("SELECT id, version FROM memories WHERE status='active'")}
        note.write_text(note.read_text(encoding="utf-8").replace("\n\n", "\n\nCHANGED-MARKER zebra. ", 1), encoding="utf-8")
        wb.ingest(data)
        changed = wb.store.query("SELECT id, version FROM memories WHERE status='active' AND version > 1")
        # The passage(s) around the edit got a new version; nothing else was touched.
        assert 1 <= len(changed) <= 2 and all(r[0] in before for r in changed)
        assert all(wb.memory.history(r[0])[-1].reason == "source changed" for r in changed)
        assert wb.store.scalar("SELECT count(*) FROM memories WHERE status='active'") == len(before)
        assert "CHANGED-MARKER" in wb.memory.recall("CHANGED-MARKER zebra", k=1)[0].text


def test_cli_memory_commands(demo_ws: Path) -> None:
    aios = Path(sys.executable).parent / "aios"
    out = subprocess.run([str(aios), "memory", "recall", "Nordlys pricing", "-w", str(demo_ws), "-k", "2"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("mem:") == 2
    out = subprocess.run([str(aios), "memory", "stats", "-w", str(demo_ws)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "active by tier" in out.stdout
    out = subprocess.run([str(aios), "memory", "recall", "-w", str(demo_ws)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "needs a query" in out.stderr
