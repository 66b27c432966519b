"""What keys and drives the logit-lens and distributions runs: their inputs (the result key), their costs and
their computations, shared by the pages and the background warm-up (ui.warmup), so the page opened on its
defaults finds the warm-up's result."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from interp_core.engine.sites import n_site_layers

from .. import costs
from ..runner import run_keyed

PAGE_TOP_K = 10  # the lens keeps this many per cell; the page's top-k slider only slices it
DECODER_PROMPT = "The Eiffel Tower is located in the city of"
BERT_PROMPT = "The Eiffel Tower is located in the city of [MASK]."
DIST_PROMPT = "Alice looked round eagerly, and found that it was the Red Queen."
DIST_CORPUS = "builtin:looking-glass"
DIST_TOKENS = 1000


def _n_tokens(lm, text: str) -> int:
    try:
        return max(1, len(lm.encode(text).tokens))
    except Exception:  # noqa: BLE001 - an estimate only; the run itself reports bad input
        return max(1, len(text) // 4)


# --- logit lens --------------------------------------------------------------------------------------------
def lens_inputs(lm, prompt: str, method: str, target: str) -> dict[str, Any]:
    return {"model": repr(lm.spec), "prompt": prompt, "method": method, "target": target or ""}


def lens_default_inputs(lm) -> dict[str, Any]:
    return lens_inputs(lm, BERT_PROMPT if lm.info.masked_lm else DECODER_PROMPT, "auto", "")


def compute_lens_for(lm, inp: Mapping[str, Any], progress=None):
    from interp_core.lens import compute_lens

    return compute_lens(lm, inp["prompt"], inp["method"], PAGE_TOP_K, inp["target"] or None, progress)


def retargeted(lm, decoded, inp: Mapping[str, Any], target: str, position: int):
    """`decoded` (the lens of `inp`, run for each position's own prediction) tracking `target`, with exact
    ranks at `position` (or the default one): no forward pass, kept per session by every input."""
    from interp_core.lens import default_position, retarget

    T = len(decoded.tokens)
    pos = position if 0 <= position < T else default_position(decoded)
    if decoded.masked_lm and pos not in decoded.mask_positions:
        pos = default_position(decoded)
    key = {**inp, "target": target, "exact_rank_position": pos}
    kept = run_keyed("ll_retarget", key, lambda prog: retarget(lm, decoded, target, positions=(pos,), progress=prog),
                     action="Tracking the target", auto=True, show_stale=False)
    return None if kept is None or kept.stale else kept.result


def lens_cost(lm, inp: Mapping[str, Any]) -> tuple[str, str, float]:
    """One forward pass plus an unembedding of every layer's hidden state at every position."""
    n, rows = _n_tokens(lm, inp["prompt"]), n_site_layers("resid", lm.info.n_layers)
    return repr(lm.spec), "lens", costs.forward_flops(lm.info, n, logit_rows=rows * n)


def masked_sweep_cost(lm, inp: Mapping[str, Any]) -> tuple[str, str, float]:
    n, rows = _n_tokens(lm, inp["prompt"]), n_site_layers("resid", lm.info.n_layers)
    return repr(lm.spec), "lens", costs.forward_flops(lm.info, n * n, logit_rows=rows * n)


# --- activation distributions --------------------------------------------------------------------------------
def dist_inputs(lm, source: str, text_or_sha: str, tokens: int, site: str, exclude_first: bool,
                bins: int) -> dict[str, Any]:
    """`text_or_sha`: the prompt, or the corpus's sha256 (with `tokens` its budget)."""
    what = {"prompt": text_or_sha} if source == "prompt" else {"corpus": text_or_sha, "tokens": int(tokens)}
    return {"model": repr(lm.spec), "source": source, **what, "site": site, "exclude_first": bool(exclude_first),
            "bins": int(bins)}


def compute_dist_for(lm, inp: Mapping[str, Any], corpus=None, progress=None):
    from interp_core.distributions import activation_distributions, corpus_sample, prompt_sample

    if inp["source"] == "prompt":
        sample = prompt_sample(lm, inp["prompt"])
    else:
        sample = corpus_sample(lm, corpus.text, int(inp["tokens"]), name=corpus.name)
    return activation_distributions(lm, sample, site=inp["site"], exclude_first=inp["exclude_first"],
                                    bins=inp["bins"], progress=progress)


def dist_cost(lm, inp: Mapping[str, Any]) -> tuple[str, str, float]:
    n = _n_tokens(lm, inp["prompt"]) if inp["source"] == "prompt" else int(inp["tokens"])
    return repr(lm.spec), "dist", costs.forward_flops(lm.info, n)
