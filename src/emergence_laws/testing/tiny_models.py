"""Tiny Llama / GPT-NeoX checkpoints and a small offline tokenizer, for fast tests and benchmarks.

Everything is built from configs (no downloads) in well under a second and saved with
`save_pretrained` so `AutoModelForCausalLM` / `AutoTokenizer` load it like a real checkpoint.

    from emergence_laws.testing.tiny_models import save_tiny_model
    path = save_tiny_model(tmp_path / "llama", arch="llama")
    model, tok = emergence_laws.models.load_model(str(path))
"""

from __future__ import annotations

import string
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models
from transformers import (
    GPTNeoXConfig,
    GPTNeoXForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

ARCHS = ("llama", "gpt_neox")

# A few merges so that tokenising context+continuation together differs from tokenising them
# apart (exercises lm-eval's "encode the whole, then split" rule), like a real BPE.
_MERGES = [(" ", "t"), ("t", "h"), ("h", "e"), (" ", "a"), ("a", "n"), ("i", "n"), ("e", "r"),
           ("i", "s"), ("o", "n"), (" ", "1"), ("1", "2"), (":", " ")]
SPECIALS = ["<unk>", "<s>", "</s>"]


def make_tokenizer() -> PreTrainedTokenizerFast:
    """A character-level BPE tokenizer over printable ASCII with a few merges; eos `</s>`, no pad token."""
    chars = [c for c in string.printable if c not in "\x0b\x0c\r"]
    vocab: dict[str, int] = {}
    for tok in SPECIALS + chars + [a + b for a, b in _MERGES]:
        vocab.setdefault(tok, len(vocab))
    bpe = models.BPE(vocab=vocab, merges=_MERGES, unk_token="<unk>")
    tok = Tokenizer(bpe)
    tok.decoder = decoders.Fuse()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
        clean_up_tokenization_spaces=False,
    )
    return fast


def build_tiny_model(arch: str = "llama", *, seed: int = 0, hidden: int = 32, layers: int = 2,
                     max_positions: int = 512, init_range: float = 0.2,
                     attn_implementation: str | None = None) -> tuple[PreTrainedModel, PreTrainedTokenizerFast]:
    """A randomly initialised tiny causal LM (`arch` in ARCHS) and its tokenizer.

    `init_range` is larger than usual so next-token distributions are far from uniform and
    score differences between choices are visible.
    """
    tok = make_tokenizer()
    common = {"vocab_size": len(tok), "hidden_size": hidden, "intermediate_size": 2 * hidden,
              "num_hidden_layers": layers, "num_attention_heads": 4, "max_position_embeddings": max_positions,
              "initializer_range": init_range, "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
              "tie_word_embeddings": False}
    torch.manual_seed(seed)
    if arch == "llama":
        model = LlamaForCausalLM(LlamaConfig(num_key_value_heads=2, **common))
    elif arch == "gpt_neox":
        model = GPTNeoXForCausalLM(GPTNeoXConfig(**common))
    else:
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    if attn_implementation is not None:
        model.set_attn_implementation(attn_implementation)
    model.eval()
    return model, tok


def save_tiny_model(path: str | Path, arch: str = "llama", **kwargs) -> Path:
    """Build a tiny model (see `build_tiny_model`) and save model + tokenizer to `path`; returns `path`."""
    path = Path(path)
    model, tok = build_tiny_model(arch, **kwargs)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path
