"""What a lesson's views may say: each view kind's page, its fields (with their type and the full page's URL
key, so "open this in the full page" reopens the same view) and the metrics its expectations may name.

A field is data only: text, a number from a range, or one of fixed choices. Corpora are built-in ones only, so a
lesson never reads a file outside its folder."""
from __future__ import annotations

from dataclasses import dataclass

from interp_core.engine.sites import ABLATION_SITES, DIST_SITES, NEURON_SITES


@dataclass(frozen=True)
class Field:
    """One field of a view: its kind ('text', 'token', 'int', 'float', 'bool', 'choice', 'corpus')."""

    name: str
    kind: str
    url_key: str  # the full page's query-string key
    choices: tuple[str, ...] = ()
    lo: float | None = None
    hi: float | None = None
    required: bool = False


@dataclass(frozen=True)
class ViewKind:
    """A view a lesson can embed: the page it belongs to, its fields, its metrics and the page's tab."""

    name: str
    page: str  # the page's url_path (ui/navigation.py)
    fields: tuple[Field, ...]
    metrics: tuple[str, ...]
    tab: tuple[str, str] | None = None  # (tab URL key, tab label) that shows this view on the full page
    fixed: tuple[tuple[str, str], ...] = ()  # URL values the full page needs to show this view

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


_AB_COMMON = (
    Field("prompt", "text", "ab_prompt", required=True),
    Field("target", "token", "ab_target"),
    Field("site", "choice", "ab_site", ABLATION_SITES, required=True),
    Field("layer", "int", "ab_layer", lo=0, hi=1000),
    Field("method", "choice", "ab_method", ("zero", "mean", "median", "noise", "scale", "patch")),
    Field("heads", "text", "ab_heads"),
    Field("neurons", "text", "ab_index"),
    Field("scale", "float", "ab_scale", lo=-100, hi=100),
    Field("noise", "float", "ab_noise", lo=0, hi=100),
    Field("positions", "choice", "ab_pos", ("all", "last", "chosen")),
    Field("position_list", "text", "ab_pos_list"),
    Field("counterfactual", "text", "ab_cf"),
    Field("reference", "choice", "ab_ref_self", ("corpus", "prompt")),
    Field("budget", "int", "ab_budget", lo=50, hi=50_000),
)

VIEWS: dict[str, ViewKind] = {v.name: v for v in (
    ViewKind("lens", "logit_lens", (
        Field("prompt", "text", "ll_prompt", required=True),
        Field("target", "token", "ll_target", required=True),
        Field("method", "choice", "ll_method", ("auto", "final-norm", "full-head", "dot-product")),
    ), ("p", "rank", "z", "top", "snap")),
    ViewKind("compare", "ablation", (
        *_AB_COMMON,
        Field("generate", "int", "ab_gen", lo=0, hi=64),
        Field("self_repair", "bool", "ab_repair"),
    ), ("p", "rank", "top", "kl", "repair", "generation"), ("ab_tab", "Compare clean vs ablated")),
    ViewKind("sweep", "ablation", (
        *_AB_COMMON,
        Field("sweep", "choice", "ab_sweep", ("layers", "heads", "scale"), required=True),
        Field("scales", "text", "ab_scales"),
    ), ("p", "kl", "worst"), ("ab_tab", "Sweeps")),
    ViewKind("patching", "ablation", (
        Field("clean", "text", "pt_clean", required=True),
        Field("corrupt", "text", "pt_corrupt", required=True),
        Field("target", "token", "pt_target", required=True),
        Field("foil", "token", "pt_foil"),
        Field("grid", "choice", "pt_grid", ("resid", "attn_out", "mlp_out", "heads"), required=True),
        Field("metric", "choice", "pt_metric", ("logit_diff", "prob")),
    ), ("cell",), ("ab_tab", "Which components matter?"), (("pt_pair", "(your own prompts)"), ("pt_mode", "exact"))),
    ViewKind("seed", "neuron_explorer", (
        Field("corpus", "corpus", "ne_corpus_src"),
        Field("site", "choice", "ne_site", NEURON_SITES, required=True),
        Field("layer", "int", "ne_layer", lo=0, hi=1000, required=True),
        Field("dim", "int", "ne_dim", lo=0, hi=1_000_000, required=True),
        Field("samples", "int", "ne_samples", lo=1, hi=100_000),
        Field("batch", "int", "ne_batch", lo=1, hi=1024),
        Field("seq_len", "int", "ne_seq", lo=2, hi=8192),
        Field("seed", "int", "ne_seed", lo=0, hi=2**31 - 1),
    ), ("winner", "share", "top_share"), ("ne_tab", "Seed method")),
    ViewKind("distributions", "distributions", (
        Field("source", "choice", "ad_source", ("corpus", "prompt")),
        Field("prompt", "text", "ad_prompt"),
        Field("corpus", "corpus", "ad_corpus_src"),
        Field("tokens", "int", "ad_tokens", lo=50, hi=20_000),
        Field("site", "choice", "ad_site", DIST_SITES),
        Field("exclude_first", "bool", "ad_first"),
        Field("bins", "int", "ad_bins", lo=2, hi=1000),
    ), ("kurtosis", "std", "max", "min", "mean", "r2"), ("ad_tab", "Statistics")),
)}

# `page:` values a lesson may name, and the view each page shows when `view:` is left out
PAGES: dict[str, str] = {"logit_lens": "lens", "ablation": "compare", "neuron_explorer": "seed",
                         "distributions": "distributions"}
BUILTIN_CORPORA = ("builtin:looking-glass",)
