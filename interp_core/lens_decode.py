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

Progress = Callable[[float, str], None]

_CHUNK_ELEMS = 1 << 21  # logits per chunk (8 MB of float32): rows x vocab-chunk
_MAX_ROWS = 1024  # hidden states decoded together (bounds the chunk's memory for long prompts)
_MIN_CHUNK = 2048  # vocabulary columns per chunk at least (keeps the matmul and top-k efficient)


@dataclass(frozen=True)
class LensHead:
    """A lens decoder: logits = finish(pre(h) @ weight.T + bias)."""

    pre: Callable[[torch.Tensor], torch.Tensor]  # (N, D) -> (N, D)
    weight: torch.Tensor  # (V, D)
    bias: torch.Tensor | None  # (V,)
    finish: Callable[[torch.Tensor], torch.Tensor]  # elementwise, (N, v) -> (N, v)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """Full logits (N, V) of hidden states (N, D); for tests and small inputs only."""
        x = self.pre(h).float()
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

    def prob(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.exp(logits - self.lse)


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
    x = head.pre(hidden).float()  # (N, D)
    n = x.shape[0]
    dev = x.device
    k = max(1, min(k, vocab))
    chunk = max(_MIN_CHUNK, min(vocab, _CHUNK_ELEMS // max(n, 1)))

    # Target logits computed directly (N, D)·(N, D); the chunk loop counts how many logits beat them.
    t_logits, t_ids = [], []
    for t in targets:
        ids = t.ids.to(dev)
        val = (x * weight[ids].float()).sum(-1)
        if head.bias is not None:
            val = val + head.bias[ids].float()
        t_logits.append(head.finish(val.unsqueeze(-1)).squeeze(-1))  # (N,)
        t_ids.append(ids)
    counts = [torch.zeros(n, dtype=torch.long, device=dev) if t.rank else None for t in targets]

    top_v = torch.full((n, k), -torch.inf, device=dev)
    top_i = torch.zeros((n, k), dtype=torch.long, device=dev)
    run_max = torch.full((n,), -torch.inf, device=dev)
    run_sum = torch.zeros(n, device=dev)
    s1 = torch.zeros(n, dtype=torch.float64, device=dev)
    s2 = torch.zeros(n, dtype=torch.float64, device=dev)
    n_chunks = -(-vocab // chunk)
    for c, v0 in enumerate(range(0, vocab, chunk)):
        v1 = min(vocab, v0 + chunk)
        w = weight[v0:v1].float()
        if head.bias is not None:
            logits = torch.addmm(head.bias[v0:v1].float(), x, w.T)  # (N, v)
        else:
            logits = x @ w.T  # (N, v)
        logits = head.finish(logits)
        c_max = logits.amax(-1)  # (N,) cheap; only rows whose k-th best can change pay for a top-k
        grow = (c_max > top_v[:, -1]).nonzero().squeeze(1)
        if grow.numel():
            sub = logits if grow.numel() == n else logits[grow]
            cv, ci = sub.topk(min(k, v1 - v0), dim=-1)
            merged_v, pick = torch.cat([top_v[grow], cv], 1).topk(k, dim=-1)
            top_i[grow] = torch.cat([top_i[grow], ci + v0], 1).gather(1, pick)
            top_v[grow] = merged_v
        s1 += logits.sum(-1).double()
        s2 += torch.linalg.vector_norm(logits, dim=-1).double() ** 2
        for t_val, ids, cnt in zip(t_logits, t_ids, counts):
            if cnt is None:
                continue
            beat = (c_max > t_val).nonzero().squeeze(1)  # rows where some logit of this chunk beats the target
            if beat.numel() == n:
                cnt += (logits > t_val.unsqueeze(-1)).sum(-1)
            elif beat.numel():
                cnt[beat] += (logits[beat] > t_val[beat].unsqueeze(-1)).sum(-1)
            inside = (ids >= v0) & (ids < v1)
            if inside.any():  # never count the target itself (its chunk value may differ in the last bit)
                own = logits.gather(1, (ids - v0).clamp(0, v1 - v0 - 1).unsqueeze(-1)).squeeze(-1)
                cnt -= (inside & (own > t_val)).long()
        c_sum = logits.sub_(c_max.unsqueeze(-1)).exp_().sum(-1)  # in place: the chunk's logits are done
        new_max = torch.maximum(run_max, c_max)
        run_sum = run_sum * torch.exp(run_max - new_max) + c_sum * torch.exp(c_max - new_max)
        run_max = new_max
        if progress is not None:
            frac = span[0] + (span[1] - span[0]) * (c + 1) / n_chunks
            progress(frac, f"{label}: vocabulary chunk {c + 1}/{n_chunks}")
    mean = s1 / vocab
    var = (s2 / vocab - mean * mean).clamp_min(0.0)
    cpu = lambda t: t.detach().to("cpu")  # noqa: E731
    return RowStats(
        top_vals=cpu(top_v), top_ids=cpu(top_i), lse=cpu(run_max + torch.log(run_sum)),
        mean=cpu(mean.float()), std=cpu(var.sqrt().float()),
        target_logits=tuple(cpu(t) for t in t_logits),
        target_ranks=tuple(None if c is None else cpu(c + 1) for c in counts),
    )
