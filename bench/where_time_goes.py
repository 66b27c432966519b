"""Where the time goes, for the targets bench/run.py reports as missed (CPU, Gemma 3 270M).

    python bench/where_time_goes.py lens    # torch profiler: the logit lens of the 32-token prompt, warm
    python bench/where_time_goes.py scan    # torch profiler: two scan batches (8 x 256 tokens) of MLP layer 9
    python bench/where_time_goes.py start   # wall time of each step of a warm start in this fresh process

Prints tables; the evidence quoted in bench/RESULTS.md.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path



def _torch_table(fn, rows: int = 12) -> str:
    import torch
    fn()  # warm
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        t = time.perf_counter()
        fn()
        wall = time.perf_counter() - t
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows) + f"\nwall (profiled): {wall:.2f} s"


def lens() -> None:
    from run import PROMPT32
    from interp_core import load_model, make_spec
    from interp_core.lens import compute_lens
    lm = load_model(make_spec("gemma-3-270m", device="cpu"))
    print(_torch_table(lambda: compute_lens(lm, PROMPT32)))


def scan() -> None:
    import numpy as np

    from run import BATCH, SEQ, DEFAULT_TEXT
    from interp_core import Site, load_model, make_spec
    from interp_core.data import Corpus
    from interp_core.data import tokenize_corpus
    lm = load_model(make_spec("gemma-3-270m", device="cpu"))
    text = Path(sys.argv[2] if len(sys.argv) > 2 else DEFAULT_TEXT).read_text(encoding="utf-8")
    tc = tokenize_corpus(lm, Corpus.from_text(text, "book", "book"))
    ids = [tc.batch(np.arange(BATCH) * SEQ + i * BATCH * SEQ, SEQ, lm.device) for i in range(2)]
    site = Site("mlp_neurons", 9)
    print(_torch_table(lambda: [lm.run(x, capture=[site], need_logits=False) for x in ids]))


def start() -> None:
    t0 = time.perf_counter()
    import torch  # noqa: F401
    t1 = time.perf_counter()
    import transformers  # noqa: F401
    t2 = time.perf_counter()
    from interp_core.engine import embedded
    folder = embedded.ensure_gemma()
    from transformers import AutoModelForCausalLM, AutoTokenizer
    t3 = time.perf_counter()
    AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, use_safetensors=True)
    t4 = time.perf_counter()
    AutoTokenizer.from_pretrained(str(folder))
    t5 = time.perf_counter()
    import tokenizers
    tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    t6 = time.perf_counter()
    for name, dt in [("import torch", t1 - t0), ("import transformers", t2 - t1), ("locate cache", t3 - t2),
                     ("model from safetensors (incl. the modeling imports it triggers)", t4 - t3),
                     ("tokenizer (transformers GemmaTokenizer, 262,144 tokens)", t5 - t4),
                     ("  for scale: the bare Rust tokenizers load of the same tokenizer.json", t6 - t5)]:
        print(f"{dt:7.2f} s  {name}")
    print(f"{t5 - t0:7.2f} s  total (what a warm start costs in a fresh process)")


if __name__ == "__main__":
    {"lens": lens, "scan": scan, "start": start}[sys.argv[1] if len(sys.argv) > 1 else "lens"]()
