"""Guarantee 8: a shared server opens only local model folders and corpus files under its allowed roots.

`..`, `~`, symlinks leading out of the roots and paths outside them are refused before anything is
read; workshop mode offers and allows only its fixed list of models; the web app is restricted by
default (built-in corpora and the cache, never the app folder) while the CLI is not.
"""
from __future__ import annotations

import builtins
import os
import threading
from pathlib import Path

import pytest

from interp_core import UserError, load_model, make_spec
from interp_core.data import load_corpus
from interp_core.paths import active_roots, check_local_path, restrict_to
from interp_core.settings import load_settings


@pytest.fixture
def tree(tmp_path):
    """allowed/ (with a corpus and a link farm) and secret/ beside it."""
    allowed, secret = tmp_path / "allowed", tmp_path / "secret"
    allowed.mkdir()
    secret.mkdir()
    (allowed / "ok.txt").write_text("Alice and the Red Queen.")
    (secret / "passwords.txt").write_text("hunter2")
    (secret / "model").mkdir()
    (secret / "model" / "config.json").write_text('{"model_type": "gpt2"}')
    (allowed / "link_out.txt").symlink_to(secret / "passwords.txt")
    (allowed / "link_dir").symlink_to(secret)
    (allowed / "loop").symlink_to(allowed / "loop")
    return allowed, secret


@pytest.fixture
def reads(monkeypatch):
    """Paths opened through open()/Path.open while the test runs."""
    seen: list[str] = []
    real_open = builtins.open
    real_path_open = Path.open

    def spy(file, *a, **k):
        seen.append(str(file))
        return real_open(file, *a, **k)

    def path_spy(self, *a, **k):
        seen.append(str(self))
        return real_path_open(self, *a, **k)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(Path, "open", path_spy)
    return seen


@pytest.mark.parametrize("raw, why", [
    ("{secret}/passwords.txt", "outside"),
    ("{allowed}/../secret/passwords.txt", "'..'"),
    ("{allowed}/link_out.txt", "outside"),
    ("{allowed}/link_dir/passwords.txt", "outside"),
    ("~/.bashrc", "'~'"),
    ("~root/.bashrc", "'~'"),
    ("/etc/passwd", "outside"),
    ("{allowed}/loop", "resolve|does not exist|outside"),
    ("{allowed}/no-such.txt", "does not exist"),
    ("  ", "empty"),
    ("{allowed}/ok.txt\x00.png", "NUL"),
])
def test_refused_paths(tree, reads, raw, why):
    allowed, secret = tree
    raw = raw.format(allowed=allowed, secret=secret)
    with pytest.raises(UserError, match=why):
        check_local_path(raw, kind="corpus file", roots=[allowed])
    with pytest.raises(UserError):
        load_corpus(raw, roots=[allowed])
    assert not [r for r in reads if "secret" in r or "passwords" in r], reads


def test_allowed_path_inside_roots(tree):
    allowed, _ = tree
    assert check_local_path(str(allowed / "ok.txt"), roots=[allowed]) == (allowed / "ok.txt").resolve()
    assert load_corpus(str(allowed / "ok.txt"), roots=[allowed]).text.startswith("Alice")


def test_env_roots_apply_to_models_before_reading(tree, reads, monkeypatch):
    allowed, secret = tree
    monkeypatch.setenv("LOOKING_GLASS_ALLOWED_ROOTS", str(allowed))
    for name in (str(secret / "model"), f"{allowed}/../secret/model", str(allowed / "link_dir" / "model"), "~/model"):
        with pytest.raises(UserError):
            make_spec(name, device="cpu")
    assert not [r for r in reads if "secret" in r], reads


def test_symlinked_file_inside_a_model_folder_is_refused(tree, tiny_dirs, tmp_path, monkeypatch):
    """The folder is inside the roots, but one of its files links out of them."""
    allowed, secret = tree
    folder = allowed / "model"
    folder.mkdir()
    for f in tiny_dirs["gpt2"].iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "tokenizer.json").unlink()
    (folder / "tokenizer.json").symlink_to(secret / "passwords.txt")
    monkeypatch.setenv("LOOKING_GLASS_ALLOWED_ROOTS", str(allowed))
    with pytest.raises(UserError, match="outside"):
        load_model(make_spec(str(folder), device="cpu"))


def test_model_folder_inside_roots_loads(tree, tiny_dirs, monkeypatch):
    allowed, _ = tree
    folder = allowed / "model"
    folder.mkdir()
    for f in tiny_dirs["llama"].iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    monkeypatch.setenv("LOOKING_GLASS_ALLOWED_ROOTS", str(allowed))
    assert load_model(make_spec(str(folder), device="cpu")).info.family == "llama"


def test_workshop_mode_allows_only_its_list(monkeypatch, tiny_dirs):
    monkeypatch.setenv("LOOKING_GLASS_WORKSHOP_MODELS", "gemma-3-270m, minilm-l6")
    assert load_settings().workshop_models == ("gemma-3-270m", "minilm-l6")
    make_spec("minilm-l6", device="cpu")
    for name in ("gpt2", str(tiny_dirs["gpt2"]), "/etc", "../x"):
        with pytest.raises(UserError, match="workshop mode"):
            make_spec(name, device="cpu")
    # a spec built by hand does not get around it
    from interp_core import ModelSpec
    with pytest.raises(UserError, match="workshop mode"):
        load_model(ModelSpec(name=str(tiny_dirs["gpt2"])))


def test_run_restriction_stays_in_its_thread(tree, tiny_dirs):
    """The app restricts each script-run thread; the CLI/other threads keep their own policy."""
    allowed, secret = tree
    result = {}

    def run():
        restrict_to([allowed])
        result["roots"] = active_roots()
        try:
            check_local_path(str(secret / "passwords.txt"))
        except UserError as e:
            result["error"] = str(e)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert result["roots"] == (allowed.resolve(),) and "outside" in result["error"]
    assert active_roots() == load_settings().allowed_roots
    check_local_path(str(secret / "passwords.txt"))  # unrestricted here (no roots configured in tests)


def test_server_roots_default_and_configured(monkeypatch, tmp_path):
    monkeypatch.delenv("LOOKING_GLASS_ALLOWED_ROOTS", raising=False)
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path / "cache"))
    s = load_settings()
    assert s.allowed_roots == () and not s.restricted
    assert (tmp_path / "cache").resolve() in s.server_roots
    assert any(p.name == "corpora" and p.parent.name == "assets" for p in s.server_roots)
    assert Path.cwd().resolve() not in s.server_roots, "the app folder (README, .git, .venv) is no corpus root"
    monkeypatch.setenv("LOOKING_GLASS_ALLOWED_ROOTS", os.pathsep.join([str(tmp_path), str(tmp_path / "b")]))
    s = load_settings()
    assert s.restricted and s.server_roots == (tmp_path.resolve(), (tmp_path / "b").resolve())
