"""A word-level tokenizer for the micro world: one token per whitespace-separated word, plus newline.

The vocabulary is closed (the world's words, digits and punctuation), so the embedding matrix stays
tiny (< 100 rows) and CPU training is cheap. It is a `tokenizers` WordLevel model wrapped as a
`PreTrainedTokenizerFast`, saved with `save_pretrained` next to each checkpoint, so
`AutoTokenizer.from_pretrained(folder)` loads it like any Hugging Face tokenizer.

Spaces and tabs separate tokens and are dropped; each newline is a token of its own. So
`" 7"` encodes to the single token `7` — the continuation ``target_delimiter + answer`` of a
task is exactly the answer's tokens, as lm-evaluation-harness expects.
"""

from __future__ import annotations

from collections.abc import Sequence

PAD, UNK, BOS, EOS = "[PAD]", "[UNK]", "[BOS]", "[EOS]"
SPECIAL: tuple[str, ...] = (PAD, UNK, BOS, EOS)
NEWLINE = "\n"


def build_tokenizer(words: Sequence[str]):
    """A `PreTrainedTokenizerFast` over `SPECIAL + ["\\n"] + words` (duplicates dropped, order kept)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab: dict[str, int] = {}
    for w in (*SPECIAL, NEWLINE, *words):
        if w not in vocab:
            vocab[w] = len(vocab)
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(r"[ \t]+"), behavior="removed"), pre_tokenizers.Split("\n", behavior="isolated")]
    )
    core.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with spaces
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token=PAD, unk_token=UNK, bos_token=BOS, eos_token=EOS,
        clean_up_tokenization_spaces=False,
    )
    tok.padding_side = "right"
    return tok
