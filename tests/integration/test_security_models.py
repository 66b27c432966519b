"""Guarantee 7: loading a model never runs code from it.

A folder whose pickle would write a marker file is refused and no marker appears; a config with
`auto_map` (custom modeling code) is refused before the code could be imported.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from interp_core import ModelLoadError, UserError, load_model, make_spec


class _WritesMarker:
    """Unpickling this calls Path.write_text(marker) — arbitrary code execution if the loader allows it."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


def _evil_pickle(path: Path, marker: Path) -> None:
    torch.save({"transformer.wte.weight": _WritesMarker(marker)}, path)


def test_the_pickle_really_runs_code_when_unsafely_loaded(tmp_path):
    """Guards the tests below: a plain torch.load(weights_only=False) does write the marker."""
    marker = tmp_path / "marker"
    _evil_pickle(tmp_path / "x.bin", marker)
    torch.load(tmp_path / "x.bin", weights_only=False)
    assert marker.exists()


def test_folder_with_only_a_pickle_is_refused(tmp_path):
    folder, marker = tmp_path / "evil", tmp_path / "marker"
    folder.mkdir()
    _evil_pickle(folder / "pytorch_model.bin", marker)
    with pytest.raises(ModelLoadError, match="config.json"):
        load_model(make_spec(str(folder), device="cpu"))
    assert not marker.exists()


def test_pickle_next_to_a_valid_config_is_refused(tmp_path, tiny_dirs):
    folder, marker = tmp_path / "evil", tmp_path / "marker"
    folder.mkdir()
    src = tiny_dirs["gpt2"]
    for f in src.iterdir():
        if f.suffix != ".safetensors":
            shutil.copy(f, folder / f.name)
    _evil_pickle(folder / "pytorch_model.bin", marker)
    with pytest.raises(ModelLoadError) as info:
        load_model(make_spec(str(folder), device="cpu"))
    assert "pytorch_model.bin" in str(info.value) and "run code" in str(info.value)
    assert not marker.exists()


def test_plain_pickled_weights_still_load(tmp_path, tiny_dirs, tiny_models):
    """The safe path works: a state dict of tensors in pytorch_model.bin loads with weights_only=True."""
    folder = tmp_path / "plain"
    folder.mkdir()
    for f in tiny_dirs["gpt2"].iterdir():
        if f.suffix != ".safetensors":
            shutil.copy(f, folder / f.name)
    torch.save(tiny_models["gpt2"].model.state_dict(), folder / "pytorch_model.bin")
    lm = load_model(make_spec(str(folder), device="cpu"))
    ids = lm.encode("Alice was").input_ids
    assert torch.equal(lm.run(ids).logits, tiny_models["gpt2"].run(ids).logits)


def _with_custom_code(tmp_path: Path, tiny_dirs, where: str) -> tuple[Path, Path]:
    folder, marker = tmp_path / f"remote-{where}", tmp_path / "marker"
    shutil.copytree(tiny_dirs["gpt2"], folder)
    (folder / "modeling_evil.py").write_text(f"from pathlib import Path\nPath({str(marker)!r}).write_text('code ran')\n")
    (folder / "tokenization_evil.py").write_text(f"from pathlib import Path\nPath({str(marker)!r}).write_text('code ran')\n")
    cfg_file = folder / ("config.json" if where == "config" else "tokenizer_config.json")
    cfg = json.loads(cfg_file.read_text())
    if where == "config":
        cfg["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilModel", "AutoConfig": "modeling_evil.EvilConfig"}
    else:
        cfg["auto_map"] = {"AutoTokenizer": ["tokenization_evil.EvilTokenizer", None]}
    cfg_file.write_text(json.dumps(cfg))
    return folder, marker


def test_config_with_auto_map_is_refused(tmp_path, tiny_dirs):
    folder, marker = _with_custom_code(tmp_path, tiny_dirs, "config")
    with pytest.raises(ModelLoadError, match="auto_map"):
        load_model(make_spec(str(folder), device="cpu"))
    assert not marker.exists()


def test_tokenizer_with_auto_map_runs_no_code(tmp_path, tiny_dirs):
    folder, marker = _with_custom_code(tmp_path, tiny_dirs, "tokenizer")
    try:
        lm = load_model(make_spec(str(folder), device="cpu"))
    except UserError:
        pass  # refusing is fine too
    else:
        assert type(lm.tokenizer).__name__ != "EvilTokenizer"
    assert not marker.exists()
