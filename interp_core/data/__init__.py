"""Text in: corpora (built-in, Gutenberg, local files, uploads) and their tokenization per model."""
from interp_core.data.corpus import BUILTINS, Corpus, load_corpus
from interp_core.data.tokens import TokenizedCorpus, tokenize_corpus

__all__ = ["BUILTINS", "Corpus", "TokenizedCorpus", "load_corpus", "tokenize_corpus"]
