"""Workshop rooms: codes are unguessable and forgiving to type, a forged code gets one sentence, only the
presenter writes, followers are counted, the right sessions are woken (nobody polls), and rooms end when the
presenter leaves or the room idles."""
from __future__ import annotations

import math
import re

import pytest

from interp_core.errors import UserError
from ui import rooms
from ui.rooms import CODE_LEN, NotPresenter, RoomRegistry, normalize, pretty


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _reg(**kw) -> tuple[RoomRegistry, Clock]:
    clock = Clock()
    return RoomRegistry(clock=clock, idle_s=3600, presenter_timeout_s=600, **kw), clock


def test_codes_carry_at_least_40_bits_from_secrets(monkeypatch):
    assert CODE_LEN * math.log2(len(rooms.ALPHABET)) >= 40
    codes = {rooms.new_code() for _ in range(2000)}
    assert len(codes) == 2000  # no repeats in 2,000 draws (a 20-bit code would repeat with ~85 % chance)
    assert all(re.fullmatch(f"[{rooms.ALPHABET}]{{{CODE_LEN}}}", c) for c in codes)
    seen = []
    monkeypatch.setattr(rooms.secrets, "choice", lambda seq: seen.append(seq) or seq[0])
    assert rooms.new_code() == "0" * CODE_LEN and len(seen) == CODE_LEN  # drawn from `secrets`, symbol by symbol


def test_typed_codes_are_forgiven_but_malformed_ones_refused():
    code = "7K2QX9MDPA"
    assert normalize(pretty(code).lower()) == code
    assert normalize("7k2qx-9mdpa ") == code
    assert normalize("OIL11-00000") == "01111" + "00000"  # look-alike letters read as digits
    assert normalize("7K2QX9MDP") is None and normalize("7K2QX9MDPAU") is None and normalize("<script>") is None


def test_a_forged_code_gets_one_sentence():
    reg, _ = _reg()
    reg.open("presenter")
    for forged in ("AAAAA-AAAAA", "<img src=x>", "", "1" * 200):
        with pytest.raises(UserError) as e:
            reg.follow(forged, "someone")
        msg = str(e.value)
        assert msg.count(". ") == 0 and msg.endswith(".") and "no room" in msg
        assert len(msg) < 160


def test_only_the_presenter_changes_the_view():
    reg, _ = _reg()
    code = reg.open("P")
    assert reg.open("P") == code  # one room per presenter session
    v1 = reg.publish(code, "P", "logit_lens", {"ll_prompt": "Hi", "present": "", "follow": code})
    assert v1.query == (("ll_prompt", "Hi"),) and v1.version == 1
    assert reg.follow(code, "F1") == v1
    with pytest.raises(NotPresenter):
        reg.publish(code, "F1", "ablation", {"ab_prompt": "mine"})
    with pytest.raises(NotPresenter):
        reg.close(code, "F1")
    with pytest.raises(NotPresenter):
        reg.count(code, "F1")
    assert reg.follow(code, "F1") == v1  # unchanged by the follower's attempts
    # a follower may open its own room, which is a different room with a different code
    own = reg.open("F1")
    assert own != code and reg.follow(code, "F2").page == "logit_lens"


def test_versions_and_runs():
    reg, _ = _reg()
    code = reg.open("P")
    a = reg.publish(code, "P", "home", {})
    b = reg.publish(code, "P", "home", {})  # a finished run with nothing changed
    c = reg.publish(code, "P", "ablation", {})
    assert (a.version, b.version, c.version) == (0, 0, 1) and (a.runs, b.runs, c.runs) == (1, 2, 3)


def test_followers_are_counted_until_they_leave_or_their_browser_goes():
    gone: set[str] = set()
    reg, _ = _reg(alive=lambda sid: sid not in gone)
    code = reg.open("P")
    for i in range(10):
        reg.follow(code, f"F{i}")
    reg.follow(code, f"F{3}")  # a follower's later runs do not count twice
    reg.follow(code, "P")  # the presenter's own view is not a follower
    assert reg.count(code, "P") == 10
    reg.leave(code, "F0")
    assert reg.followers(code) == 9
    gone.update({"F5", "F6"})  # the server says these browsers disconnected
    reg.sweep()
    assert reg.followers(code) == 7


def test_the_right_sessions_are_woken():
    woken: list[tuple[str, str]] = []
    reg, _ = _reg(wake=lambda sid, why: woken.append((sid, why)))
    code = reg.open("P")
    reg.follow(code, "F1")
    reg.follow(code, "F2")
    assert woken == [("P", "count"), ("P", "count")]  # each join redraws the presenter's count
    woken.clear()
    reg.follow(code, "F1")
    assert woken == []  # a follower's own run is not a join
    reg.publish(code, "P", "logit_lens", {"ll_prompt": "Hi"})
    assert sorted(woken) == [("F1", "view"), ("F2", "view")]  # a new view: every follower redraws
    woken.clear()
    reg.publish(code, "P", "logit_lens", {"ll_prompt": "Hi"})
    assert woken == []  # the same view again: nobody
    runs = reg.follow(code, "F2").runs
    assert reg.wait(code, "F2", runs) is False  # F2 lacks the presenter's result: it waits for the next run
    reg.publish(code, "P", "logit_lens", {"ll_prompt": "Hi"})
    assert woken == [("F2", "view")]  # only the waiting follower redraws
    assert reg.wait(code, "F2", runs) is True  # a run it has not seen finished already: redraw now
    reg.done_waiting(code, "F2")
    woken.clear()
    reg.leave(code, "F1")
    assert woken == [("P", "count")]
    woken.clear()
    reg.close(code, "P")
    assert woken == [("F2", "ended")]  # the followers learn the room ended
    with pytest.raises(UserError, match="presenter closed it"):
        reg.follow(code, "F2")


def test_each_view_change_records_when_each_follower_showed_it(monkeypatch):
    reg, _ = _reg()
    code = reg.open("P")
    reg.follow(code, "F1")
    reg.follow(code, "F2")
    now = [100.0]
    monkeypatch.setattr(rooms.time, "time", lambda: now[0])
    v = reg.publish(code, "P", "logit_lens", {"ll_color": "zscore"})
    reg.publish(code, "P", "logit_lens", {"ll_color": "zscore"})  # a run that changed nothing: no new change
    now[0] = 100.4
    reg.showed(code, "F1", v.version)
    now[0] = 100.9
    reg.showed(code, "F2", v.version)
    reg.showed(code, "F1", v.version)  # a later redraw of the same view does not count
    reg.showed(code, "stranger", v.version)  # not a follower: ignored
    reg.showed(code, "F1", v.version + 7)  # no such change: ignored
    (room,) = reg.delays()
    assert room["room"] == pretty(code) and room["followers"] == 2
    assert room["changes"] == [{"version": v.version, "published": 100.0, "shown": [100.4, 100.9]}]


def test_a_follower_finds_its_room_and_view():
    reg, _ = _reg()
    code = reg.open("P")
    reg.follow(code, "F1")
    v = reg.publish(code, "P", "ablation", {"ab_prompt": "Hi"})
    assert reg.followed_by("F1") == (code, v)
    assert reg.followed_by("P") is None and reg.followed_by("stranger") is None
    reg.leave(code, "F1")
    assert reg.followed_by("F1") is None


def test_idle_rooms_end_with_an_injected_clock():
    reg, clock = _reg()
    code = reg.open("P")
    reg.publish(code, "P", "logit_lens", {})
    for _ in range(7):  # the presenter is there, but only changes keep the room from idling
        clock.t += 500
        assert reg.count(code, "P") == 0
        reg.publish(code, "P", "logit_lens", {})  # a run without a change is no activity
    assert reg.follow(code, "F").page == "logit_lens"  # 3,500 s after the last change: still open
    clock.t += 200
    with pytest.raises(UserError, match="has ended .nothing changed for 60 minutes"):
        reg.follow(code, "F")
    assert reg.presents("P") is None and reg.open("P") != code


def test_room_ends_when_the_presenter_leaves():
    gone: set[str] = set()
    reg, _ = _reg(alive=lambda sid: sid not in gone)
    code = reg.open("P")
    reg.follow(code, "F")
    gone.add("P")  # the server reports the presenter's session disconnected
    with pytest.raises(UserError, match="presenter left"):
        reg.follow(code, "F")
    reg2, clock2 = _reg()  # no server to ask: a presenter unseen for longer than presenter_timeout_s left
    code2 = reg2.open("P")
    clock2.t += 601
    with pytest.raises(UserError, match="presenter left"):
        reg2.followers(code2)


def test_qr_png_is_a_png():
    from ui.qr import qr_png

    png = qr_png("http://127.0.0.1:8501/?follow=7K2QX9MDPA")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 200
