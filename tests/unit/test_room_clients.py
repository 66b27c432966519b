"""The bench's protocol followers read a view from Streamlit's messages as a browser tab would show it: the page
from the navigation message, the URL from page_info_changed, a marker in an element (also JSON-escaped inside a
Plotly spec), only within one run."""
from __future__ import annotations

import json

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.room_clients import Follower, Watch


def _raw(fill) -> bytes:
    m = ForwardMsg()
    fill(m)
    return m.SerializeToString()


def _nav(m, page_hash: str) -> None:
    for h, path in (("h0", ""), ("h1", "logit_lens"), ("h2", "ablation")):
        p = m.navigation.app_pages.add()
        p.page_script_hash, p.url_pathname = h, path
    m.navigation.page_script_hash = page_hash


def _markdown(m, body: str) -> None:
    m.delta.new_element.markdown.body = body


def _plotly(m, spec: dict) -> None:
    m.delta.new_element.plotly_chart.spec = json.dumps(spec)


def test_a_view_counts_once_page_url_and_marker_arrived_in_one_run():
    f = Follower("http://x", "CODE")
    f.on_message(_raw(lambda m: _markdown(m, "**Following** room `AAAAA-BBBBB`")))
    assert f.following
    f.watch = Watch("ablation", "", "KL(clean ‖ ablated)")
    f.on_message(_raw(lambda m: _plotly(m, {"layout": {"title": "KL(clean ‖ ablated)"}})))  # the old page's run
    f.on_message(_raw(lambda m: m.new_session.SetInParent()))  # a new run: what came before does not count
    f.on_message(_raw(lambda m: _nav(m, "h2")))
    assert f.watch.seen is None
    f.on_message(_raw(lambda m: _plotly(m, {"layout": {"title": "KL(clean ‖ ablated)"}})))  # escaped in JSON
    assert f.watch.seen is not None


def test_the_url_state_must_match_too():
    f = Follower("http://x", "CODE")
    f.on_message(_raw(lambda m: _nav(m, "h1")))
    f.watch = Watch("logit_lens", "ll_color=zscore", "colour: top-1 z-score")
    f.on_message(_raw(lambda m: _markdown(m, "colour: top-1 z-score")))
    assert f.watch.seen is None  # the URL still says probability
    f.on_message(_raw(lambda m: setattr(m.page_info_changed, "query_string", "ll_color=zscore&follow=CODE")))
    assert f.watch.seen is not None


def test_a_watch_started_after_the_view_arrived_sees_it_at_once():
    f = Follower("http://x", "CODE")
    f.on_message(_raw(lambda m: _nav(m, "h1")))
    f.on_message(_raw(lambda m: _markdown(m, "Top-1 prediction at every layer and position")))
    w = Watch("logit_lens", "", "Top-1 prediction at every layer and position")
    f.start_watch(w)
    assert w.seen is not None
    late = Watch("logit_lens", "", "not in this run")
    f.start_watch(late)
    assert late.seen is None
