"""The one hook entry point: capture and intervene at canonical sites for the duration of a `with`.

Every handle is removed in `finally` (also on BaseException: KeyboardInterrupt, Streamlit's
StopException/RerunException), and the shared model is held under its per-model lock while hooked,
so another thread never runs through someone else's hooks. Hooks also act only in the thread that
registered them, so a direct module call from another thread (e.g. `adapter.decode_resid`, which runs
the final norm and unembedding outside the lock) passes straight through. Session data never lives on the model.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

import torch

from interp_core.engine.adapters import first_tensor
from interp_core.engine.codecs import codec_of, through_codec
from interp_core.engine.sites import Site
from interp_core.errors import UserError
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

MARK = "_looking_glass"  # set on every hook function registered here, to count ours apart from HF's
Intervention = Callable[[torch.Tensor], torch.Tensor]
"""Receives a site's activation ((B, T, ...), heads as (B, T, H, Dh)) and returns its replacement."""


class StopForward(Exception):
    """Raised by the early-exit hook once the last needed block has run."""


@dataclass
class Hooked:
    """What a `hooked` block yields: captured activations, filled in as passes run."""

    cache: dict[Site, torch.Tensor] = field(default_factory=dict)
    n_handles: int = 0


def _reshape_heads(adapter, x: torch.Tensor) -> torch.Tensor:
    return x.view(*x.shape[:-1], adapter.n_heads, adapter.d_head)  # (B, T, H*Dh) -> (B, T, H, Dh)


def _make_hook(lm: LoadedModel, site: Site, intervention: Intervention | None, capture: bool, state: Hooked,
               on_capture: Callable[[Site, torch.Tensor], None] | None, where: str,
               on_done: Callable[[Site], None] | None = None):
    adapter = lm.adapter
    heads = site.kind == "attn_heads"
    values = site.kind == "attn_values"
    owner = threading.get_ident()  # hooks act only for the thread that holds the model (see `hooked`)

    def transform(x: torch.Tensor) -> torch.Tensor:
        if values:  # capture only: the projection's output may hold queries and keys too (GPT-2's fused c_attn)
            if capture:
                v = adapter.values_view(site.layer if site.layer is not None else -1, x)
                if on_capture is not None:
                    on_capture(site, v)
                else:
                    state.cache[site] = v.detach()
            return x
        view = _reshape_heads(adapter, x) if heads else x
        if intervention is not None:
            new = intervention(view)
            if new.shape != view.shape:
                raise ValueError(f"intervention at {site} changed shape {tuple(view.shape)} -> {tuple(new.shape)}")
            view = new.to(device=view.device, dtype=view.dtype)  # split models: back where the module lives
        if capture:
            if on_capture is not None:
                on_capture(site, view)
            else:
                state.cache[site] = view.detach()
            if on_done is not None:
                on_done(site)
        return view.reshape(x.shape) if heads else view

    if where == "input":
        def pre_hook(module, args, kwargs):
            if threading.get_ident() != owner:
                return None
            if args:
                new = transform(args[0])
                return (new, *args[1:]), kwargs
            new = transform(kwargs["hidden_states"])
            return args, {**kwargs, "hidden_states": new}
        setattr(pre_hook, MARK, True)
        return pre_hook

    def post_hook(module, args, output):
        if threading.get_ident() != owner:
            return None
        if where == "weights":  # attention patterns: read the weights the module returns second, never replace
            transform(output[1])
            return None
        x = first_tensor(output)
        new = transform(x)
        if new is x:
            return None
        if isinstance(output, torch.Tensor):
            return new
        return (new, *output[1:])
    setattr(post_hook, MARK, True)
    return post_hook


def our_hooks(module: torch.nn.Module) -> int:
    """How many Looking Glass hooks (marked `_looking_glass`) sit on `module` itself (HF registers its own too)."""
    return sum(bool(getattr(fn, MARK, False))
               for fn in (*module._forward_hooks.values(), *module._forward_pre_hooks.values()))


def last_block_needed(sites: Iterable[Site]) -> int | None:
    """Highest block index the given captures depend on; None when they need the whole network."""
    blocks = [s.block for s in sites]
    if not blocks or max(blocks) >= 1 << 30:
        return None
    return max(blocks)


@contextmanager
def hooked(lm: LoadedModel, capture: Iterable[Site] = (), interventions: Mapping[Site, Intervention] | None = None,
           stop_after_block: int | None = None,
           on_capture: Callable[[Site, torch.Tensor], None] | None = None, grad: bool = False,
           stop_at_capture: bool = False) -> Iterator[Hooked]:
    """Hook `lm` (a LoadedModel) for capture and/or intervention; all handles go away on exit.

    grad: autograd on instead of inference mode (attribution patching only; every other path stays in
    inference mode); captures then go to `on_capture` undetached so gradients can reach them.

    stop_after_block: raise StopForward after that block's output (early exit; -1 = before block 0).
    on_capture: stream each captured tensor to a callback instead of keeping it in `cache`.
    stop_at_capture: also raise StopForward as soon as every capture has been taken (the rest of the last block
    is skipped too); only for passes whose outputs nobody reads, never for generation's KV cache.
    """
    capture = list(dict.fromkeys(capture))
    interventions = dict(interventions or {})
    sites = list(dict.fromkeys([*interventions, *capture]))
    for site in sites:
        if site.kind == "sae":
            codec = codec_of(site)
            lm.adapter.check_site(codec.base)
            if codec.out is not None and site in interventions:
                raise UserError("Editing a transcoder's latents is not supported; capture them, or use an SAE.")
            continue
        lm.adapter.check_site(site)
        if site.kind in ("attn_pattern", "attn_values") and site in interventions:
            what = "Attention patterns" if site.kind == "attn_pattern" else "Attention values"
            raise UserError(f"{what} can be captured but not intervened on; ablate a head instead.")
    patterns = any(s.kind == "attn_pattern" for s in sites)  # weights exist only under eager attention
    state = Hooked()
    handles = []
    on_done = None
    if stop_at_capture and stop_after_block is not None and capture:
        pending = set(capture)
        stop_owner = threading.get_ident()

        def on_done(site: Site) -> None:
            pending.discard(site)
            if not pending and threading.get_ident() == stop_owner:
                raise StopForward
    with lm.lock:  # a scheduler.PriorityLock: short requests go before a long job's next batch
        try:
            for site in sites:
                if site.kind == "sae":  # hook the site the SAE reads; latents are captured/edited through its codec
                    codec = codec_of(site)
                    keep = None if site not in capture else (
                        on_capture or (lambda s, z: state.cache.__setitem__(s, z.detach())))
                    point = lm.adapter.hook_point(codec.base)
                    fn = _make_hook(lm, codec.base, through_codec(codec, site, interventions.get(site), keep),
                                    False, state, None, point.where)
                else:
                    point = lm.adapter.hook_point(site)
                    fn = _make_hook(lm, site, interventions.get(site), site in capture, state, on_capture,
                                    point.where, on_done)
                if point.where == "input":
                    handles.append(point.module.register_forward_pre_hook(fn, with_kwargs=True))
                else:
                    handles.append(point.module.register_forward_hook(fn))
            if stop_after_block is not None:
                owner = threading.get_ident()

                def stop(*_):
                    if threading.get_ident() != owner:
                        return None
                    raise StopForward
                setattr(stop, MARK, True)
                blocks = lm.adapter.blocks()
                if stop_after_block < 0:  # only embeddings needed: stop as block 0 is entered
                    handles.append(blocks[0].register_forward_pre_hook(stop))
                else:
                    handles.append(blocks[stop_after_block].register_forward_hook(stop))
            state.n_handles = len(handles)
            mode = torch.enable_grad() if grad else torch.inference_mode()
            with mode, (lm.adapter.eager_attention() if patterns else nullcontext()):
                yield state
        finally:
            for h in handles:
                h.remove()
