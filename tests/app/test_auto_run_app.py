"""What a page starts by itself: a user's own edit is never a page opening, the "not started" notice never sits
above a finished result, and a budget refusal comes before any estimate (logit lens, seed method)."""
from __future__ import annotations

import pytest

from ui import costs

LENS_PAGE = "pages/logit_lens.py"


def _infos(at) -> list[str]:
    return [i.value for i in at.info]


def _estimate(monkeypatch, seconds: float) -> None:
    monkeypatch.setattr(costs, "estimate_s", lambda cost: seconds)


def test_a_first_edit_after_a_kept_default_is_a_change_not_a_page_opening(app, monkeypatch):
    _estimate(monkeypatch, 0.5)
    first = app.open(LENS_PAGE)  # computes the default lens into the shared results
    assert first.text_input(key="ll_prompt").value
    at = app.open(LENS_PAGE)  # a fresh session: its default comes from the shared results, nothing runs
    assert not at.exception and not at.error
    _estimate(monkeypatch, 5.0)  # above a page opening's 2 s, below a change's 10 s
    at.text_input(key="ll_prompt").set_value("The Colosseum is located in the city of").run()
    assert not at.exception and not at.error
    assert not [i for i in _infos(at) if "Not started automatically" in i], _infos(at)
    assert not [i for i in _infos(at) if "earlier inputs" in i], _infos(at)  # it ran: the new prompt's result


def test_the_not_started_notice_is_gone_once_the_click_ran(app, monkeypatch):
    _estimate(monkeypatch, 60.0)
    at = app.open(LENS_PAGE, query={"ll_prompt": "Alice found the Red Queen in the"})
    notices = [i for i in _infos(at) if "Not started automatically" in i]
    assert len(notices) == 1 and "Press **Run the logit lens** to run it." in notices[0], _infos(at)
    at.button(key="ll_lens_run").click().run()
    assert not at.exception and not at.error
    assert not [i for i in _infos(at) if "Not started automatically" in i], _infos(at)


@pytest.mark.parametrize("page,query,budget", [
    (LENS_PAGE, {"ll_prompt": "word " * 4000}, "LOOKING_GLASS_MAX_LENS_TOKENS"),
    ("pages/neuron_explorer.py", {"ne_tab": "Seed method", "ne_samples": 100000, "ne_batch": 1024, "ne_seq": 8192},
     "LOOKING_GLASS_MAX_SEED_TOKENS"),
])
def test_a_budget_refusal_comes_before_any_estimate(app, page, query, budget):
    at = app.open(page, query=query)
    errors = [e.value for e in at.error]
    assert any(budget in e for e in errors), errors
    assert not [i for i in _infos(at) if "Not started automatically" in i], _infos(at)
    assert not [c.value for c in at.caption if "Estimated" in c.value]
