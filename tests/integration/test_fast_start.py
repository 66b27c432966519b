"""Warm start: the Gemma tokenizer read straight from tokenizer.json gives today's ids; cached generation is fast."""
import pytest

from interp_core.data.corpus import BUILTINS, builtin
from interp_core.engine.tokenizer import fast_tokenizer, load_tokenizer


def test_non_gemma_folders_keep_the_auto_tokenizer(tiny_dirs):
    assert fast_tokenizer(tiny_dirs["gpt2"]) is None
    tok = load_tokenizer(tiny_dirs["gpt2"])
    assert tok("hello there")["input_ids"]


@pytest.mark.slow
def test_fast_gemma_tokenizer_gives_the_same_ids_as_the_slow_build():
    from transformers import AutoTokenizer

    from interp_core.engine.embedded import ensure_gemma

    folder = ensure_gemma()
    fast, slow = fast_tokenizer(folder), AutoTokenizer.from_pretrained(str(folder))
    assert fast is not None and type(slow).__name__ == "GemmaTokenizer"
    for name in BUILTINS:
        text = builtin(name).text
        for special in (True, False):
            assert fast(text, add_special_tokens=special)["input_ids"] == slow(text, add_special_tokens=special)["input_ids"]
    odd = "  Tabs\tand\nnewlines, ünïcode 日本語, <bos> <mask> [MASK] 'quotes' 1,234.5"
    assert fast(odd)["input_ids"] == slow(odd)["input_ids"]
    for attr in ("bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id", "mask_token_id", "all_special_ids"):
        assert getattr(fast, attr) == getattr(slow, attr), attr
    ids = fast(odd)["input_ids"]
    assert [fast.decode([i], clean_up_tokenization_spaces=False) for i in ids] == \
        [slow.decode([i], clean_up_tokenization_spaces=False) for i in ids]
