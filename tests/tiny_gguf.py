"""A tiny llama checkpoint written as a GGUF file (llama.cpp's format), for fast tests of the GGUF path.

One block, hidden 32, byte-level BPE vocabulary (256 bytes + a few merges + 3 specials), random
weights, F32 or Q8_0 tensors. Written with the `gguf` package (the `[gguf]` extra):

    from tiny_gguf import write_tiny_gguf
    path = write_tiny_gguf(tmp_path / "tiny.gguf")
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SPECIALS = ["<unk>", "<s>", "</s>"]
MERGES = [("Ġ", "t"), ("t", "h"), ("h", "e"), ("Ġ", "a"), ("Ġ", "1"), ("1", "2"), (":", "Ġ")]


def _byte_alphabet() -> list[str]:
    """GPT-2's printable stand-in for each byte (its `bytes_to_unicode` table), in byte order."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in range(256)]


def write_tiny_gguf(path: str | Path, *, seed: int = 0, hidden: int = 32, layers: int = 1,
                    quantize: bool = False) -> Path:
    """Write a random tiny llama + its tokenizer to `path` (a .gguf file); returns `path`."""
    import gguf

    path = Path(path)
    tokens = SPECIALS + _byte_alphabet() + [a + b for a, b in MERGES]
    vocab = len(tokens)
    heads, kv_heads, ff = 4, 2, 2 * hidden
    head_dim = hidden // heads
    rng = np.random.default_rng(seed)

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny-test-llama")
    w.add_block_count(layers)
    w.add_context_length(256)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(ff)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(vocab)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if quantize else gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt2")
    w.add_token_list(tokens)
    w.add_token_types([gguf.TokenType.CONTROL] * len(SPECIALS) + [gguf.TokenType.NORMAL] * (vocab - len(SPECIALS)))
    w.add_token_merges([f"{a} {b}" for a, b in MERGES])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(False)

    def tensor(name: str, *shape: int, scale: float = 0.2) -> None:
        data = (scale * rng.standard_normal(shape)).astype(np.float32)
        if quantize and len(shape) == 2 and shape[-1] % 32 == 0:
            qtype = gguf.GGMLQuantizationType.Q8_0
            w.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)
        else:
            w.add_tensor(name, data)

    tensor("token_embd.weight", vocab, hidden)
    for i in range(layers):
        b = f"blk.{i}"
        w.add_tensor(f"{b}.attn_norm.weight", np.ones(hidden, dtype=np.float32))
        tensor(f"{b}.attn_q.weight", hidden, hidden)
        tensor(f"{b}.attn_k.weight", kv_heads * head_dim, hidden)
        tensor(f"{b}.attn_v.weight", kv_heads * head_dim, hidden)
        tensor(f"{b}.attn_output.weight", hidden, hidden)
        w.add_tensor(f"{b}.ffn_norm.weight", np.ones(hidden, dtype=np.float32))
        tensor(f"{b}.ffn_gate.weight", ff, hidden)
        tensor(f"{b}.ffn_up.weight", ff, hidden)
        tensor(f"{b}.ffn_down.weight", hidden, ff)
    w.add_tensor("output_norm.weight", np.ones(hidden, dtype=np.float32))
    tensor("output.weight", vocab, hidden)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
