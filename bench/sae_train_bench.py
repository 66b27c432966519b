"""What `sae train` achieves on the embedded Gemma 3 270M and the built-in corpus, and what it costs against the
baseline of a plain layer scan of the same tokens (the same capture, no SAE), both in this one process.

    python bench/sae_train_bench.py [--layer 6] [--latents 4096] [--k 32] [--tokens 16384] [--epochs 2]

Prints one JSON line: the held-out report, the seconds of training and of the baseline scan, their ratio and the
load average before and after (the CPU is shared; read the ratio, not the seconds)."""
from __future__ import annotations

import argparse
import json
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="gemma-3-270m")
    ap.add_argument("--layer", type=int, default=6)
    ap.add_argument("--latents", type=int, default=4096)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=16384)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--name", default=None)
    a = ap.parse_args()
    from interp_core import load_model, make_spec
    from interp_core.data import load_corpus, tokenize_corpus
    from interp_core.features.train import train_sae
    from interp_core.neurons import scan_layer

    load0 = os.getloadavg()
    lm = load_model(make_spec(a.model, device="cpu"))
    tc = tokenize_corpus(lm, load_corpus("builtin:looking-glass"))
    t0 = time.perf_counter()
    scan_layer(lm, tc, site="resid", layer=a.layer + 1, top_k=5, seq_len=a.seq_len, batch_size=8,
               max_tokens=a.tokens, use_cache=False)
    scan_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rep = train_sae(lm, tc, site="resid_post", layer=a.layer, latents=a.latents, k=a.k, epochs=a.epochs,
                    max_tokens=a.tokens, seq_len=a.seq_len, name=a.name)
    train_s = time.perf_counter() - t0
    print(json.dumps({**{k: v for k, v in rep.to_dict().items() if k != "provenance"},
                      "train_seconds_total": round(train_s, 1), "baseline_scan_seconds": round(scan_s, 1),
                      "ratio_train_to_scan": round(train_s / scan_s, 2), "loadavg_before": load0,
                      "loadavg_after": os.getloadavg(), "torch_threads": __import__("torch").get_num_threads()}))


if __name__ == "__main__":
    main()
