"""Guarantee 2: every exit path removes every hook and leaves the next clean pass equal to the baseline.

Each kind of failure — ValueError, out-of-memory, KeyboardInterrupt, Streamlit's StopException and
RerunException (BaseException subclasses) — is raised from an intervention hook, from a capture
callback, from a progress callback between batches, and halfway through registering several hooks.
"""
from __future__ import annotations

import contextlib
import threading

import pytest
import torch
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData

from interp_core import Site, hooked

PROMPT = "Alice was beginning to get very tired of sitting"


def _errors():
    return {
        "ValueError": lambda: ValueError("bad intervention"),
        "OutOfMemory": lambda: torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        "KeyboardInterrupt": lambda: KeyboardInterrupt(),
        "StopException": lambda: StopException(),
        "RerunException": lambda: RerunException(RerunData()),
    }


ERRORS = _errors()


def _all_hooks(lm) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in lm.model.modules())


def _lock_is_free(lm) -> bool:
    """The per-model lock must be released, seen from another thread (it is re-entrant in this one)."""
    got = []
    t = threading.Thread(target=lambda: got.append(lm.lock.acquire(timeout=5) and (lm.lock.release() or True)))
    t.start()
    t.join()
    return got == [True]


@pytest.fixture(params=["gpt2", "gemma3", "bert"])
def lm(request, tiny_models):
    return tiny_models[request.param]


def _sites(lm):
    n = lm.adapter.n_layers
    return [Site("resid", 1), Site("attn_heads", 0), Site("mlp_neurons", n - 1), Site("mlp_out", n - 1)]


def _before(lm):
    """(ids, clean logits, every hook on the model) before a test breaks something."""
    ids = lm.encode(PROMPT).input_ids
    return ids, lm.run(ids).logits.clone(), _all_hooks(lm)


@contextlib.contextmanager
def _raises(kind):
    """The block must let ERRORS[kind] (BaseExceptions included) escape, unchanged."""
    with pytest.raises(BaseException) as info:
        yield
    assert type(info.value).__name__ == type(ERRORS[kind]()).__name__


def _after(lm, ids, baseline, hooks_before):
    assert lm.num_hooks() == 0
    assert _all_hooks(lm) == hooks_before
    assert _lock_is_free(lm)
    assert torch.equal(lm.run(ids).logits, baseline)


@pytest.mark.parametrize("kind", list(ERRORS))
def test_raised_from_an_intervention_hook(lm, kind):
    ids, baseline, hooks_before = _before(lm)
    calls = []

    def bad(x):
        calls.append(1)
        raise ERRORS[kind]()

    ok = {s: (lambda x: x * 1.0) for s in _sites(lm)[:2]}
    with _raises(kind):
        lm.run(ids, capture=_sites(lm), interventions={**ok, Site("mlp_out", lm.adapter.n_layers - 1): bad})
    assert calls == [1]
    _after(lm, ids, baseline, hooks_before)


@pytest.mark.parametrize("kind", list(ERRORS))
def test_raised_from_a_capture_callback(lm, kind):
    ids, baseline, hooks_before = _before(lm)
    seen = []

    def on_capture(site, x):
        seen.append(site)
        if len(seen) == 2:
            raise ERRORS[kind]()

    with _raises(kind):
        lm.run(ids, capture=_sites(lm), on_capture=on_capture, need_logits=False)
    assert len(seen) == 2
    _after(lm, ids, baseline, hooks_before)


@pytest.mark.parametrize("kind", list(ERRORS))
def test_raised_from_a_progress_callback_between_batches(lm, kind):
    """A multi-batch job under one `hooked` block (how scans run), cancelled through its progress callback."""
    ids, baseline, hooks_before = _before(lm)
    batches = []

    def progress(frac, msg):
        if frac >= 0.5:
            raise ERRORS[kind]()

    with _raises(kind):
        with hooked(lm, capture=_sites(lm), interventions={Site("resid", 1): lambda x: x + 0.5}) as h:
            for b in range(4):
                lm.model(input_ids=ids, use_cache=False)
                batches.append(b)
                assert h.cache, "captures arrive while hooked"
                progress((b + 1) / 4, f"batch {b + 1}/4")
    assert batches == [0, 1], "the job must stop at the batch whose progress call raised"
    _after(lm, ids, baseline, hooks_before)


@pytest.mark.parametrize("kind", list(ERRORS))
@pytest.mark.parametrize("fail_at", [1, 3])
def test_raised_halfway_through_registering_hooks(lm, kind, fail_at, monkeypatch):
    """The n-th hook registration fails: the hooks registered before it must be removed too."""
    ids, baseline, hooks_before = _before(lm)
    count = [0]
    real_post, real_pre = torch.nn.Module.register_forward_hook, torch.nn.Module.register_forward_pre_hook

    def counted(real):
        def register(self, *a, **k):
            count[0] += 1
            if count[0] == fail_at + 1:
                raise ERRORS[kind]()
            return real(self, *a, **k)
        return register

    monkeypatch.setattr(torch.nn.Module, "register_forward_hook", counted(real_post))
    monkeypatch.setattr(torch.nn.Module, "register_forward_pre_hook", counted(real_pre))
    with _raises(kind):
        lm.run(ids, capture=_sites(lm), need_logits=False)  # 4 sites + the early-exit hook
    assert count[0] == fail_at + 1
    monkeypatch.undo()
    _after(lm, ids, baseline, hooks_before)


def test_normal_runs_leave_no_hooks(lm):
    ids = lm.encode(PROMPT).input_ids
    hooks_before = _all_hooks(lm)
    base = lm.run(ids).logits.clone()
    lm.run(ids, capture=_sites(lm))
    lm.run(ids, capture=_sites(lm), need_logits=False)
    lm.run(ids, interventions={Site("mlp_out", 0): torch.zeros_like})
    _after(lm, ids, base, hooks_before)


def test_hooks_are_actually_registered_while_running(lm):
    """Guards the tests above: inside `hooked`, our hooks are there (so 'zero afterwards' means removed)."""
    with hooked(lm, capture=_sites(lm)) as h:
        assert lm.num_hooks() == len(_sites(lm)) == h.n_handles
    assert lm.num_hooks() == 0
