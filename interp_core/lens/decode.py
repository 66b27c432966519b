"""Streamed decoding of many hidden states at once: top-k, log-sum-exp, mean/std and target logits/ranks
over the whole vocabulary, without ever holding a (rows, vocab) logit matrix.

The head is split as `pre(h)` (final norm, BERT's transform, or nothing) followed by one linear map
(W (V, D), b (V,)) and an elementwise `finish` (e.g. Gemma 2's soft-capping), so the vocabulary can be
walked in chunks (262,144 tokens for Gemma): per chunk one matmul, a cheap row max that lets most rows
skip the top-k, and one pass each for the moments, the target ranks and the log-sum-exp.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from interp_core.lens.moments import head_moments
from interp_core.results import Progress


_CHUNK_ELEMS = 1 << 19  # logits per chunk (2 MB of float32): rows x vocab-chunk; small enough to stay in cache
_CHUNK_ELEMS_CUDA = 1 << 26  # on a GPU (256 MB of float32): few large matmuls; cache-sized chunks are launch-bound
_MAX_ROWS = 1024  # hidden states decoded together (bounds the chunk's memory for long prompts)
_MIN_CHUNK = 1024  # vocabulary columns per chunk at least (1,024 measured fastest for the matmul on CPU)


@dataclass(frozen=True)
class LensHead:
    """A lens decoder: logits = finish(pre(h) @ weight.T + bias)."""

    pre: Callable[[torch.Tensor], torch.Tensor]  # (N, D) -> (N, D)
    weight: torch.Tensor  # (V, D)
    bias: torch.Tensor | None  # (V,)
    finish: Callable[[torch.Tensor], torch.Tensor]  # elementwise, (N, v) -> (N, v)
    linear: bool = False  # finish is the identity: logit moments can come from the Gram matrix (lens_moments)

    def pre_rows(self, h: torch.Tensor) -> torch.Tensor:
        """pre(h) as float32 on the unembedding's device; h may be kept elsewhere (e.g. hidden states on the CPU)."""
        params = getattr(self.pre, "parameters", None)
        first = next(params(), None) if callable(params) else None
        h = h.to(first.device if first is not None else self.weight.device)
        return self.pre(h).float().to(self.weight.device)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """Full logits (N, V) of hidden states (N, D); for tests and small inputs only."""
        x = self.pre_rows(h)
        out = x @ self.weight.float().T
        if self.bias is not None:
            out = out + self.bias.float()
        return self.finish(out)


@dataclass(frozen=True)
class TargetRequest:
    """Ask for one target token per row: its logit (always) and its rank (optional, one more pass)."""

    ids: torch.Tensor  # (N,) long
    rank: bool = True


@dataclass(frozen=True)
class RowStats:
    """Per-row statistics of the logits over the whole vocabulary (all on CPU)."""

    top_vals: torch.Tensor  # (N, K) logits of the top-k, descending
    top_ids: torch.Tensor  # (N, K)
    lse: torch.Tensor  # (N,) log-sum-exp of the logits (log-probability normaliser)
    mean: torch.Tensor  # (N,) mean logit over the vocabulary
    std: torch.Tensor  # (N,) standard deviation of the logits over the vocabulary (population)
    target_logits: tuple[torch.Tensor, ...]  # one (N,) per TargetRequest
    target_ranks: tuple[torch.Tensor | None, ...]  # one (N,) long (1 = top) per TargetRequest, None if not asked

    def zscore(self, logits: torch.Tensor) -> torch.Tensor:
        return (logits - self.mean) / self.std.clamp_min(1e-12)


def chunk_elems(device: torch.device) -> int:
    """Logits per vocabulary chunk on `device`: cache-sized on a CPU; on a GPU, large unless memory is short."""
    if device.type != "cuda":
        return _CHUNK_ELEMS
    free, _ = torch.cuda.mem_get_info(device)
    return int(max(_CHUNK_ELEMS, min(_CHUNK_ELEMS_CUDA, free // 4 // 16)))  # a chunk uses a few float32 copies


def decode_stats(head: LensHead, hidden: torch.Tensor, k: int, targets: Sequence[TargetRequest] = (),
                 progress: Progress | None = None, span: tuple[float, float] = (0.0, 1.0),
                 label: str = "Decoding") -> RowStats:
    """Statistics of `head`'s logits for every row of `hidden` (N, D), walking the vocabulary in chunks.

    `progress(fraction, message)` is called after every chunk (fractions within `span`); whatever it raises
    propagates at once, which is how a caller cancels.
    """
    n = hidden.shape[0]
    parts = []
    for r0 in range(0, n, _MAX_ROWS):
        r1 = min(n, r0 + _MAX_ROWS)
        a = span[0] + (span[1] - span[0]) * r0 / n
        b = span[0] + (span[1] - span[0]) * r1 / n
        sub = [TargetRequest(t.ids[r0:r1], t.rank) for t in targets]
        parts.append(_decode_block(head, hidden[r0:r1], k, sub, progress, (a, b), label))
    if len(parts) == 1:
        return parts[0]
    cat = lambda xs: torch.cat(xs, 0)  # noqa: E731
    return RowStats(
        cat([p.top_vals for p in parts]), cat([p.top_ids for p in parts]), cat([p.lse for p in parts]),
        cat([p.mean for p in parts]), cat([p.std for p in parts]),
        tuple(cat([p.target_logits[i] for p in parts]) for i in range(len(targets))),
        tuple(None if not targets[i].rank else cat([p.target_ranks[i] for p in parts]) for i in range(len(targets))),
    )


def _decode_block(head: LensHead, hidden: torch.Tensor, k: int, targets: Sequence[TargetRequest],
                  progress: Progress | None, span: tuple[float, float], label: str) -> RowStats:
    weight = head.weight
    vocab = weight.shape[0]
    x = head.pre_rows(hidden)  # (N, D), where the unembedding lives (split models)
    n = x.shape[0]
    dev = x.device
    k = max(1, min(k, vocab))
    chunk = max(_MIN_CHUNK, min(vocab, chunk_elems(dev) // max(n, 1)))

    # Target logits computed directly (N, D)·(N, D); the chunk loop counts how many logits beat them.
    t_ids = [t.ids.to(dev) for t in targets]
    t_logits = [head.finish(_direct_logits(head, x, ids).unsqueeze(-1)).squeeze(-1) for ids in t_ids]  # (N,) each
    counts = [torch.zeros(n, dtype=torch.long, device=dev) if t.rank else None for t in targets]
    # Rows whose target id falls in each chunk, found once: the chunk loop must not count a target as
    # beating itself (its chunk value may differ from the direct dot product in the last bit).
    own_rows = [_rows_by_chunk(ids, chunk) if cnt is not None else {} for ids, cnt in zip(t_ids, counts)]

    top_v = torch.full((n, k), -torch.inf, device=dev)
    top_i = torch.zeros((n, k), dtype=torch.long, device=dev)
    n_chunks = -(-vocab // chunk)
    lse_parts = torch.empty((n, n_chunks), device=dev)  # per-chunk log-sum-exp, combined once at the end
    # Mean and std of the logits: from the head's cached Gram matrix when there is one, else streamed
    # as per-chunk sums of the logits and of their squares.
    moments = head_moments(head.weight, head.bias, cached_only=True) if head.linear else None
    s1_parts = torch.empty((n, n_chunks), device=dev) if moments is None else None
    s2_parts = torch.empty((n, n_chunks), device=dev) if moments is None else None
    report_every = max(1, n_chunks // 50)  # a progress callback is not free (the UI redraws)
    for c, v0 in enumerate(range(0, vocab, chunk)):
        v1 = min(vocab, v0 + chunk)
        w = weight[v0:v1]
        if w.dtype != torch.float32:
            w = w.float()
        if head.bias is not None:
            logits = torch.addmm(head.bias[v0:v1].float(), x, w.T)  # (N, v)
        else:
            logits = x @ w.T  # (N, v)
        logits = head.finish(logits)
        c_max = logits.amax(-1)  # (N,) cheap; only rows whose k-th best can change pay for a top-k
        grow = (c_max > top_v[:, -1]).nonzero().squeeze(1)
        if grow.numel() == n:
            cv, ci = logits.topk(min(k, v1 - v0), dim=-1)
            top_v, pick = torch.cat([top_v, cv], 1).topk(k, dim=-1)
            top_i = torch.cat([top_i, ci + v0], 1).gather(1, pick)
        elif grow.numel():
            cv, ci = logits[grow].topk(min(k, v1 - v0), dim=-1)
            merged_v, pick = torch.cat([top_v[grow], cv], 1).topk(k, dim=-1)
            top_i[grow] = torch.cat([top_i[grow], ci + v0], 1).gather(1, pick)
            top_v[grow] = merged_v
        if s1_parts is not None and s2_parts is not None:  # no kept moments: sum the logits chunk by chunk
            torch.sum(logits, -1, out=s1_parts[:, c])
            torch.linalg.vector_norm(logits, dim=-1, out=s2_parts[:, c])
        for t_val, ids, cnt, own in zip(t_logits, t_ids, counts, own_rows):
            if cnt is None:
                continue
            cnt += (logits > t_val.unsqueeze(-1)).sum(-1)  # rows with nothing above the target add 0
            rows = own.get(c)
            if rows is not None:
                vals = logits[rows, ids[rows] - v0]
                cnt[rows] -= (vals > t_val[rows]).long()
        torch.logsumexp(logits, -1, out=lse_parts[:, c])
        if progress is not None and ((c + 1) % report_every == 0 or c + 1 == n_chunks):
            frac = span[0] + (span[1] - span[0]) * (c + 1) / n_chunks
            progress(frac, f"{label}: vocabulary chunk {c + 1}/{n_chunks}")
    lse = torch.logsumexp(lse_parts, -1)
    if s1_parts is not None and s2_parts is not None:
        mean = s1_parts.double().sum(-1) / vocab
        var = ((s2_parts.double() ** 2).sum(-1) / vocab - mean * mean).clamp_min(0.0)
        std = var.sqrt()
    else:
        assert moments is not None  # the parts are left out exactly when the moments are kept
        mean, std = moments.mean_std(x)
    cpu = lambda t: t.detach().to("cpu")  # noqa: E731
    return RowStats(
        top_vals=cpu(top_v), top_ids=cpu(top_i), lse=cpu(lse),
        mean=cpu(mean.float()), std=cpu(std.float()),
        target_logits=tuple(cpu(t) for t in t_logits),
        target_ranks=tuple(None if c is None else cpu(c + 1) for c in counts),
    )


def target_zscores(head: LensHead, hidden: torch.Tensor, ids: torch.Tensor, progress: Progress | None = None,
                   span: tuple[float, float] = (0.0, 1.0), label: str = "Decoding") -> torch.Tensor:
    """z-score (N,) of token ids[i] in the logits of hidden[i] (N, D): (logit - mean) / std over the vocabulary.

    A linear head needs no vocabulary pass (lens_moments); otherwise the logits are streamed (decode_stats).
    """
    if not head.linear:
        st = decode_stats(head, hidden, 1, [TargetRequest(ids, rank=False)], progress, span, label)
        return st.zscore(st.target_logits[0])
    if progress is not None:
        progress(span[0], f"{label}: logit moments")
    moments = head_moments(head.weight, head.bias)
    assert moments is not None  # computed unless cached_only
    x = head.pre_rows(hidden)  # (N, D), where the unembedding lives (split models)
    logit = _direct_logits(head, x, ids.to(x.device))  # (N,)
    mean, std = moments.mean_std(x)
    if progress is not None:
        progress(span[1], f"{label}: done")
    return ((logit - mean) / std.clamp_min(1e-12)).detach().cpu()


def _direct_logits(head: LensHead, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Logit of token ids[i] for row x[i] (before `finish`): one dot product per row, no vocabulary pass."""
    val = (x * head.weight[ids].float()).sum(-1)  # (N,)
    return val if head.bias is None else val + head.bias[ids].float()


def _rows_by_chunk(ids: torch.Tensor, chunk: int) -> dict[int, torch.Tensor]:
    """{chunk index: rows whose id lies in that chunk} for a (N,) tensor of token ids."""
    which = ids // chunk  # (N,)
    return {int(c): (which == c).nonzero().squeeze(1) for c in torch.unique(which).tolist()}
