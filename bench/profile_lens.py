"""Where the logit lens spends its time on Gemma 3 270M (torch profiler, CPU): the evidence for RESULTS.md."""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import PROMPT32  # noqa: E402
from interp_core import load_model, make_spec  # noqa: E402
from interp_core.lens import compute_lens  # noqa: E402

lm = load_model(make_spec("gemma-3-270m", device="cpu"))
compute_lens(lm, PROMPT32)  # warm
with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
    compute_lens(lm, PROMPT32)
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
