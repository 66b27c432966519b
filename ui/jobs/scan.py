"""The neuron explorer's jobs: a layer scan (top-k contexts and statistics of every neuron of one site and
layer, cached on disk), every layer of a site in one pass, and the seed method for one neuron."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from interp_core.engine.sites import CHOICES
from interp_core.estimates import forward_flops, scan_flops, seed_flops
from interp_core.results import Progress
from interp_core.settings import load_settings

from .base import LONG, Cost, Key, PageJob, context

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.neurons import ScanResult, SeedResult

SCAN_CORPUS = "builtin:looking-glass"  # the default scan's corpus (the warm-up scans it)


def scan_options() -> dict[str, Any]:
    """Extra scan arguments from the server settings: shard over Ray when LOOKING_GLASS_RAY_ADDRESS is set."""
    address = load_settings().ray_address
    return {"ray": address} if address else {}


def scan_defaults(lm: LoadedModel) -> dict[str, Any]:
    """The neuron explorer's default layer scan (keyword arguments of scan_layer / cached_scan)."""
    top = CHOICES["mlp"].top_layer(lm.info.n_layers)
    return dict(site="mlp", layer=min(2, top or 0), top_k=20, seq_len=128, batch_size=8, max_tokens=6000)


@dataclass(frozen=True)
class ScanKey(Key):
    """`corpus`: the corpus's sha256; `tokens` (context) is the corpus tokenized for this model."""

    corpus: str
    site: str
    layer: int
    top_k: int
    seq_len: int
    batch_size: int
    max_tokens: int | None
    tokens: Any = context()

    def scan_kwargs(self) -> dict[str, Any]:
        return dict(site=self.site, layer=self.layer, top_k=self.top_k, seq_len=self.seq_len,
                    batch_size=self.batch_size, max_tokens=self.max_tokens)

    def n_scan(self) -> int:
        n = int(self.tokens.n_tokens) if self.tokens is not None else 0
        return min(n, self.max_tokens) if self.max_tokens else n


class ScanJob(PageJob[ScanKey, "ScanResult"]):
    slot = "ne_scan"

    def compute(self, lm: LoadedModel, key: ScanKey, progress: Progress | None = None) -> ScanResult:
        from interp_core.neurons import scan_layer

        return scan_layer(lm, key.tokens, **key.scan_kwargs(), **scan_options(), progress=progress)

    def cost(self, lm: LoadedModel, key: ScanKey) -> Cost:
        return Cost(key.model, "scan", scan_flops(lm.info, key.n_scan(), block=key.layer))


def warm_default_scan(lm: LoadedModel) -> None:
    """The default layer scan of the built-in corpus, written to the disk cache (the page reads it there)."""
    from interp_core.data import load_corpus, tokenize_corpus
    from interp_core.neurons import cached_scan, scan_layer

    tc = tokenize_corpus(lm, load_corpus(SCAN_CORPUS))
    kw = scan_defaults(lm)
    if cached_scan(lm, tc, **kw) is None:
        scan_layer(lm, tc, **kw)


@dataclass(frozen=True)
class ScanAllKey(Key):
    """Every layer of `site` in one pass (`layer` only keeps the page's other settings in the key)."""

    corpus: str
    layers: str
    site: str
    layer: int
    top_k: int
    seq_len: int
    batch_size: int
    max_tokens: int | None
    tokens: Any = context()


class ScanAllJob(PageJob[ScanAllKey, "dict[int, ScanResult]"]):
    slot = "ne_scan_all"
    kind = LONG

    def compute(self, lm: LoadedModel, key: ScanAllKey, progress: Progress | None = None) -> dict[int, ScanResult]:
        from interp_core.neurons import scan_layers

        return scan_layers(lm, key.tokens, site=key.site, layers="all", top_k=key.top_k, seq_len=key.seq_len,
                           batch_size=key.batch_size, max_tokens=key.max_tokens, **scan_options(), progress=progress)

    def cost(self, lm: LoadedModel, key: ScanAllKey) -> Cost:
        n = int(key.tokens.n_tokens) if key.tokens is not None else 0
        return Cost(key.model, "scan", forward_flops(lm.info, min(n, key.max_tokens) if key.max_tokens else n))


@dataclass(frozen=True)
class SeedKey(Key):
    corpus: str
    site: str
    layer: int
    dim: int
    batch: int
    seq_len: int
    samples: int
    seed: int
    tokens: Any = context()


class SeedJob(PageJob[SeedKey, "SeedResult"]):
    """The seed method: the argmax of one neuron over random windows of the corpus, sample after sample."""

    slot = "ne_seed"
    shared = True

    def compute(self, lm: LoadedModel, key: SeedKey, progress: Progress | None = None) -> SeedResult:
        from interp_core.neurons import seed_method

        return seed_method(lm, key.tokens, site=key.site, layer=key.layer, dim=key.dim, batch_size=key.batch,
                           seq_len=key.seq_len, samples=key.samples, seed=key.seed, progress=progress)

    def cost(self, lm: LoadedModel, key: SeedKey) -> Cost:
        return Cost(key.model, "seed", seed_flops(lm.info, key.samples, key.batch, key.seq_len, block=key.layer))


SCAN = ScanJob()
SCAN_ALL = ScanAllJob()
SEED = SeedJob()
