"""A lesson's view as the page job and key that the full page would run for the same inputs: the view's fields
go onto the page's own defaults under the page's URL keys, so a lesson shares the pages' cache and "open this in
the full page" finds the result already computed. Streamlit-free."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .ablation import COMPARE, SWEEP, compare_key, sweep_key, widget_defaults
from .base import Key, PageJob, model_id
from .distributions import DIST, DIST_CORPUS, DIST_TOKENS, dist_key
from .lens import LENS, RETARGET, LensKey, lens_key, retarget_key
from .patching import GRID, GridKey
from .scan import SEED, SeedKey, scan_defaults

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.lessons import View

SEED_SAMPLES = 8  # the neuron explorer's default N


def _ablation_values(lm: LoadedModel, view: View) -> tuple[dict[str, Any], Any]:
    """The playground's ab_* values for this view, and the reference corpus its method needs (or None)."""
    from interp_core.ablation import NEEDS_REFERENCE
    from interp_core.data import Corpus, load_corpus

    v = widget_defaults(lm)
    for f in view.kind.fields:
        if f.name in view.values:
            v[f.url_key] = view.values[f.name]
    v["ab_ref_self"] = view.values.get("reference") == "prompt"
    reference = None
    if v["ab_method"] in NEEDS_REFERENCE:
        reference = (Corpus.from_text(v["ab_prompt"] or " ", "the prompt", "prompt") if v["ab_ref_self"]
                     else load_corpus(DIST_CORPUS))
    return v, reference


def view_job(lm: LoadedModel, view: View, tokenized: Callable[[Any], Any]) -> tuple[PageJob[Any, Any], Key]:
    """(job, key) for a lesson view; `tokenized(corpus)` gives a corpus's tokens for this model (the app's
    cached tokenization, so the seed method shares it with the neuron explorer)."""
    val = view.values
    name = view.kind.name
    if name == "lens":  # like the page: the model runs once per (prompt, method); the target is `then_job`
        return LENS, lens_key(lm, val["prompt"], val.get("method", "auto"))
    if name in ("compare", "sweep"):
        v, reference = _ablation_values(lm, view)
        sha = reference.sha256 if reference is not None else None
        if name == "compare":
            return COMPARE, compare_key(lm, v, sha, reference)
        return SWEEP, sweep_key(lm, v, sha, reference)
    if name == "patching":
        return GRID, GridKey(model_id(lm), val["clean"], val["corrupt"], val["target"], val.get("foil") or None,
                             val.get("metric", "logit_diff"), "refuse", grid=val["grid"])
    from interp_core.data import load_corpus

    if name == "seed":
        sd = scan_defaults(lm)
        corpus = load_corpus(val.get("corpus", DIST_CORPUS))
        return SEED, SeedKey(model_id(lm), corpus.sha256, val["site"], int(val["layer"]), int(val["dim"]),
                             int(val.get("batch", sd["batch_size"])), int(val.get("seq_len", sd["seq_len"])),
                             int(val.get("samples", SEED_SAMPLES)), int(val.get("seed", 0)), tokens=tokenized(corpus))
    source = val.get("source", "prompt" if "prompt" in val else "corpus")
    sample = load_corpus(val.get("corpus", DIST_CORPUS)) if source == "corpus" else None
    return DIST, dist_key(lm, source, val.get("prompt", ""), sample, int(val.get("tokens", DIST_TOKENS)),
                          val.get("site", "resid"))


def then_job(view: View, key: Key, result: Any) -> tuple[PageJob[Any, Any], Key] | None:
    """The page's second stage of a view, when it has one: a lens tracking its target re-reads the kept lens
    (the logit-lens page's retarget, exact ranks at the default position); None otherwise."""
    if view.kind.name != "lens" or not view.values.get("target") or not isinstance(key, LensKey):
        return None
    return RETARGET, retarget_key(key, result, view.values["target"], -1)


def view_result(view: View, result: Any) -> Any:
    """What a view shows of its job's result: a distributions view is the kept measurement seen with the
    lesson's first-token choice and bins (no forward pass, as the page draws it); any other view, the result."""
    if view.kind.name == "distributions" and hasattr(result, "view"):
        return result.view(exclude_first=bool(view.values.get("exclude_first", True)),
                           bins=int(view.values.get("bins", 80)))
    return result
