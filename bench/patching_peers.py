"""The peer ways of computing a residual-stream patching grid, one forward pass per patched cell, as people do
with the usual tools: plain PyTorch hooks on the HF model, nnsight (`NNsight(model).trace`) and TransformerLens
(`TransformerBridge` + `run_with_hooks`). Each is timed on the first `limit` cells of the (layer, position) grid
and extrapolated; the values it gives for those cells are returned too, so the benchmark checks that every
peer and Looking Glass's batched grid agree on the numbers, not only on the time.

Cells: layer 0 = the embedding output (input of block 0), layer l = output of block l-1; the clean activation at
that position is written into the corrupted run. Values are the normalised logit difference (clean 1, corrupt 0).
"""
from __future__ import annotations

import time
from collections.abc import Callable

import torch


def _sync(device) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _cells(n_layers: int, n_pos: int, limit: int) -> list[tuple[int, int]]:
    cells = [(l, p) for l in range(n_layers + 1) for p in range(n_pos)]
    return cells[:min(limit, len(cells))]


def _summary(way: str, cells: list, grid_runs: int, seconds: float, values: list[float], setup_s: float = 0.0) -> dict:
    n = len(cells)
    return {"way": way, "timed_runs": n, "grid_runs": grid_runs, "setup_seconds": setup_s, "seconds_timed": seconds,
            "seconds_per_run": seconds / n, "seconds_full_grid_extrapolated": seconds / n * grid_runs,
            "cells": [list(c) for c in cells], "values": values}


def torch_hooks(lm, ce, ke, metric: Callable[[torch.Tensor], float], limit: int) -> dict:
    """Plain PyTorch forward (pre-)hooks on the HF blocks, one `model(...)` per cell."""
    model, blocks = lm.model, lm.adapter.blocks()
    L, T = len(blocks), ce.shape[1]
    with torch.inference_mode():
        clean_h = model(input_ids=ce, output_hidden_states=True, use_cache=False).hidden_states  # L+1 x (1, T, D)
    cells, vals = _cells(L, T, limit), []
    t0 = time.perf_counter()
    for l, p in cells:
        src = clean_h[l][0, p]

        def pre(module, args, kwargs, src=src, p=p):
            h = (args[0] if args else kwargs["hidden_states"]).clone()
            h[:, p] = src
            return ((h, *args[1:]), kwargs) if args else (args, {**kwargs, "hidden_states": h})

        def post(module, args, out, src=src, p=p):
            h = (out if isinstance(out, torch.Tensor) else out[0]).clone()
            h[:, p] = src
            return h if isinstance(out, torch.Tensor) else (h, *out[1:])

        handle = (blocks[0].register_forward_pre_hook(pre, with_kwargs=True) if l == 0
                  else blocks[l - 1].register_forward_hook(post))
        try:
            with torch.inference_mode():
                vals.append(metric(model(input_ids=ke, use_cache=False).logits[0, -1]))
        finally:
            handle.remove()
    _sync(lm.device)
    return _summary("one HF forward per patch (PyTorch hooks)", cells, (L + 1) * T, time.perf_counter() - t0, vals)


def nnsight_loop(lm, ce, ke, metric: Callable[[torch.Tensor], float], limit: int) -> dict:
    """nnsight: one `trace` to save the clean residual stream, then one `trace` per patched cell."""
    from nnsight import NNsight

    t0 = time.perf_counter()
    nn = NNsight(lm.model)
    body = nn.model  # Gemma3ForCausalLM / LlamaForCausalLM: .model holds embed_tokens and layers
    L, T = len(lm.adapter.blocks()), ce.shape[1]
    with nn.trace(ce):
        clean = list().save()
        clean.append(body.embed_tokens.output)
        for l in range(L):
            clean.append(body.layers[l].output)
    setup = time.perf_counter() - t0
    cells, vals = _cells(L, T, limit), []
    t0 = time.perf_counter()
    for l, p in cells:
        site = body.embed_tokens if l == 0 else body.layers[l - 1]
        with nn.trace(ke):
            site.output[:, p] = clean[l][:, p]
            logits = nn.lm_head.output.save()
        vals.append(metric(logits[0, -1]))
    _sync(lm.device)
    return _summary("nnsight: one trace per patch", cells, (L + 1) * T, time.perf_counter() - t0, vals, setup)


def transformer_lens_loop(lm, ce, ke, metric: Callable[[torch.Tensor], float], limit: int, path: str) -> dict:
    """TransformerLens 4 (TransformerBridge over the same HF model): `run_with_cache` on the clean prompt, then
    `run_with_hooks` with one resid hook per patched cell (the usual `get_act_patch_resid_pre` loop)."""
    from transformer_lens.model_bridge import TransformerBridge

    t0 = time.perf_counter()
    br = TransformerBridge.boot_transformers(path, hf_model=lm.model, tokenizer=lm.tokenizer, device=str(lm.device))
    L, T = len(lm.adapter.blocks()), ce.shape[1]
    names = [f"blocks.{l}.hook_resid_pre" for l in range(L)] + [f"blocks.{L - 1}.hook_resid_post"]
    with torch.inference_mode():
        _, cache = br.run_with_cache(ce, names_filter=lambda n: n in names)
    setup = time.perf_counter() - t0
    cells, vals = _cells(L, T, limit), []
    t0 = time.perf_counter()
    for l, p in cells:
        src = cache[names[l]][:, p]

        def hook(resid, hook, src=src, p=p):
            resid[:, p] = src
            return resid

        with torch.inference_mode():
            vals.append(metric(br.run_with_hooks(ke, fwd_hooks=[(names[l], hook)])[0, -1]))
    _sync(lm.device)
    return _summary("TransformerLens (TransformerBridge): one run_with_hooks per patch", cells, (L + 1) * T,
                    time.perf_counter() - t0, vals, setup)
