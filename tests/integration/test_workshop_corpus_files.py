"""A shared server serves only regular text files under its roots — no hidden folders (.git,
.venv), no symlinks out of the roots, no binaries or pipes, and by default never the app folder."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from interp_core import UserError
from interp_core.data import load_corpus
from interp_core.paths import check_local_path
from interp_core.settings import load_settings

APP_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(tmp_path) -> Path:
    r = tmp_path / "corpora"
    (r / "books").mkdir(parents=True)
    (r / "books" / "alice.txt").write_text("Alice was beginning to get very tired.\n", encoding="utf-8")
    for hidden in (".git", ".venv"):
        (r / hidden).mkdir()
        (r / hidden / "config.txt").write_text("[core]\nsecret = 1\n", encoding="utf-8")
    (r / ".env").write_text("TOKEN=abc\n", encoding="utf-8")
    return r


def test_regular_text_file_under_root_is_served(root):
    c = load_corpus(str(root / "books" / "alice.txt"), roots=[root])
    assert c.text.startswith("Alice") and c.name == "alice.txt"


@pytest.mark.parametrize("rel", [".git/config.txt", ".venv/config.txt", ".env", "books/../.git/config.txt"])
def test_hidden_folders_and_files_are_refused(root, rel):
    with pytest.raises(UserError, match=r"hidden|'\.\.'"):
        load_corpus(str(root / rel), roots=[root])


def test_symlink_into_a_hidden_folder_is_refused(root):
    (root / "books" / "innocent.txt").symlink_to(root / ".git" / "config.txt")
    with pytest.raises(UserError, match="hidden"):
        load_corpus(str(root / "books" / "innocent.txt"), roots=[root])


def test_symlink_out_of_the_roots_is_refused(root, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("passwords", encoding="utf-8")
    (root / "books" / "link.txt").symlink_to(secret)
    (root / "books" / "dir_link").symlink_to(tmp_path)
    for p in (root / "books" / "link.txt", root / "books" / "dir_link" / "secret.txt"):
        with pytest.raises(UserError, match="outside the folders"):
            load_corpus(str(p), roots=[root])


def test_symlink_inside_the_roots_to_a_text_file_is_fine(root):
    (root / "books" / "alias.txt").symlink_to(root / "books" / "alice.txt")
    assert load_corpus(str(root / "books" / "alias.txt"), roots=[root]).text.startswith("Alice")


def test_binary_folder_and_pipe_are_refused(root):
    (root / "books" / "model.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    with pytest.raises(UserError, match="not a text file"):
        load_corpus(str(root / "books" / "model.bin"), roots=[root])
    with pytest.raises(UserError, match="not a regular file"):
        load_corpus(str(root / "books"), roots=[root])
    os.mkfifo(root / "books" / "pipe.txt")
    with pytest.raises(UserError, match="not a regular file"):  # never blocks on opening a FIFO
        load_corpus(str(root / "books" / "pipe.txt"), roots=[root])


def test_default_server_roots_exclude_the_app_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("LOOKING_GLASS_ALLOWED_ROOTS", raising=False)
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path / "cache"))
    roots = load_settings().server_roots
    with pytest.raises(UserError, match="outside the folders"):
        load_corpus(str(APP_DIR / "README.md"), roots=roots)
    with pytest.raises(UserError, match="outside the folders"):
        check_local_path(str(APP_DIR / ".git" / "config"), roots=roots)
    book = APP_DIR / "assets" / "corpora" / "through_the_looking_glass.txt"
    assert "Looking" in load_corpus(str(book), roots=roots).text[:2000]


def test_cache_root_under_a_hidden_home_folder_still_works(tmp_path):
    """The cache usually lives in ~/.cache: only hidden names *below* a root count."""
    cache = tmp_path / ".cache" / "looking-glass"
    (cache / "gutenberg").mkdir(parents=True)
    (cache / "gutenberg" / "12.txt").write_text("A book.\n", encoding="utf-8")
    assert load_corpus(str(cache / "gutenberg" / "12.txt"), roots=[cache]).text.startswith("A book")
