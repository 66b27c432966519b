"""The warm-up computes what a visitor opens first first (the lens, then the ablation comparison; the layer scan
last), and says which step it is on."""
from __future__ import annotations

import threading

from ui import warmup
from ui.jobs.ablation import COMPARE
from ui.jobs.lens import LENS


def test_lens_and_ablation_come_first_and_the_scan_last(tiny_models):
    tasks = warmup._jobs(tiny_models["gpt2"])
    slots = [t.slot for t in tasks]
    assert slots[:2] == [LENS.slot, COMPARE.slot], slots
    assert slots[-1] == "" and all(t.label for t in tasks)  # the disk-cached layer scan


def test_status_names_the_current_step_and_the_page_s_own():
    tasks = [warmup.Task(s, {"k": s}, lambda: None, label=lab)
             for s, lab in (("a", "the logit lens"), ("b", "the ablation playground's comparison"), ("", "the scan"))]
    w = warmup.Warmup(tasks)
    assert w.status() == "Starting…"
    w.current = tasks[0]
    assert w.status(tasks[1]) == "Step 1 of 3: the logit lens; this page's view is step 2."
    tasks[0].done.set()
    w.current = tasks[2]
    assert w.status(tasks[2]) == "Step 3 of 3: the scan."
    for t in tasks:
        t.done.set()
    assert w.status() == "The default views are ready." and isinstance(tasks[0].done, threading.Event)
