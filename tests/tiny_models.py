"""Tiny random-weight models of every supported family, built from configs in code (offline).

Each is saved as a real HF folder (safetensors + tokenizer) and loaded through `load_model`, so the
whole loading path is exercised. Decoders get a byte-level BPE trained here; BERT gets a WordPiece.
"""
from __future__ import annotations

from pathlib import Path

import torch

TEXT = (
    "Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do. "
    "The Eiffel Tower is located in the city of Paris. Before the first move, the Red Queen ran faster and quicker. "
    "One thing was certain, that the white kitten had had nothing to do with it: it was the black kitten's fault entirely. "
) * 4

FAMILIES = ("gpt2", "gpt_neo", "bert", "gemma3", "llama")


def _bpe_tokenizer(folder: Path, bos: bool):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<pad>", "<bos>", "<eos>", "<unk>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([TEXT], trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>",
                                   pad_token="<pad>", unk_token="<unk>")
    fast.save_pretrained(folder)
    return fast


def _wordpiece_tokenizer(folder: Path):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=300, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator([TEXT], trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    fast = BertTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
                             cls_token="[CLS]", mask_token="[MASK]")
    fast.save_pretrained(folder)
    return fast


def build_tiny(family: str, folder: Path) -> Path:
    """Write a tiny random model of `family` to `folder` and return it."""
    import transformers as tf

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    if family == "bert":
        tok = _wordpiece_tokenizer(folder)
        cfg = tf.BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                            intermediate_size=64, max_position_embeddings=128)
        model = tf.BertForMaskedLM(cfg)
    else:
        tok = _bpe_tokenizer(folder, bos=family in ("gemma3", "llama"))
        v = len(tok)
        if family == "gpt2":
            cfg = tf.GPT2Config(vocab_size=v, n_embd=32, n_layer=3, n_head=4, n_positions=128,
                                bos_token_id=1, eos_token_id=2)
            model = tf.GPT2LMHeadModel(cfg)
        elif family == "gpt_neo":
            cfg = tf.GPTNeoConfig(vocab_size=v, hidden_size=32, num_layers=3, num_heads=4, max_position_embeddings=128,
                                  attention_types=[[["global", "local"], 1], [["global"], 1]], window_size=16,
                                  intermediate_size=64, bos_token_id=1, eos_token_id=2)
            model = tf.GPTNeoForCausalLM(cfg)
        elif family == "gemma3":
            cfg = tf.Gemma3TextConfig(vocab_size=v, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                                      num_key_value_heads=1, head_dim=8, intermediate_size=64,
                                      max_position_embeddings=128, sliding_window=16, pad_token_id=0,
                                      bos_token_id=1, eos_token_id=2)
            model = tf.Gemma3ForCausalLM(cfg)
        elif family == "llama":
            cfg = tf.LlamaConfig(vocab_size=v, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                                 num_key_value_heads=2, intermediate_size=64, max_position_embeddings=128,
                                 pad_token_id=0, bos_token_id=1, eos_token_id=2)
            model = tf.LlamaForCausalLM(cfg)
        else:
            raise ValueError(family)
    # random init gives near-zero norms' weights in some families; perturb so every site carries signal
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name.lower() and p.ndim == 1:
                p.add_(0.1 * torch.randn_like(p))
    model.save_pretrained(folder)
    return folder
