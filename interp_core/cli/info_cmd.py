"""`info`: a model's family and shape."""
from __future__ import annotations

from dataclasses import asdict

from interp_core.cli.main import add_model_args, load_from_args


def add_arguments(p):
    add_model_args(p)


def run(args) -> dict:
    return asdict(load_from_args(args).info)


def to_text(result: dict) -> str:
    return "\n".join(f"{k:<12} {v}" for k, v in result.items())
