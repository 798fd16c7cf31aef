"""Load a causal LM and its tokenizer from a local Hugging Face folder (or a hub id, with a network)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import torch

from emergence_laws.errors import InputError
from emergence_laws.models.dtypes import LOAD_DTYPES, TORCH_DTYPES

_DTYPES = {name: getattr(torch, name) for name in TORCH_DTYPES}


def resolve_device(device: str = "auto") -> torch.device:
    """'auto' → cuda when available, else cpu; otherwise the named device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as exc:
        raise InputError(f"device {device!r} is not a torch device; use 'auto', 'cpu' or 'cuda'") from exc


def resolve_dtype(dtype: str | torch.dtype = "auto", device: torch.device | str = "cpu") -> torch.dtype:
    """'auto' → bfloat16 on CUDA (when supported), float32 on CPU; else the named dtype."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        dev = torch.device(device)
        if dev.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if dtype not in _DTYPES:
        raise InputError(f"dtype {dtype!r} is not supported; use {', '.join(LOAD_DTYPES[:-1])} or {LOAD_DTYPES[-1]}")
    return _DTYPES[dtype]


def _looks_like_path(s: str) -> bool:
    return s.startswith((".", "/", "~")) or s.count("/") > 1 or Path(s).suffix == ".gguf" or "\\" in s


@contextlib.contextmanager
def library_progress_bars() -> Iterator[None]:
    """transformers' own bars (``Loading weights``) shown only where ours are (`emergence_laws.progress`:
    the CLI without --no-progress, EMERGENCE_PROGRESS not off); off in library calls, as ours are."""
    from transformers.utils import logging as hf_logging

    from emergence_laws.progress import progress_enabled

    wanted = progress_enabled() and os.environ.get("EMERGENCE_PROGRESS", "").strip().lower() != "off"
    was = hf_logging.is_progress_bar_enabled()
    if was and not wanted:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was and not wanted:
            hf_logging.enable_progress_bar()


def load_model(path_or_id: str | Path, device: str = "auto", dtype: str = "auto"):
    """Load (model, tokenizer) via AutoModelForCausalLM / AutoTokenizer, in eval mode.

    `path_or_id`: a local checkpoint folder, a `.gguf` file (dequantised once into a cached
    folder, see `models.gguf.converted_gguf`), or a hub id (downloaded by transformers only on
    machines with a network). `device`/`dtype`: see `resolve_device` /
    `resolve_dtype` (default: CUDA + bfloat16 when available, else CPU + float32). A missing pad
    token is set to EOS (else UNK) so batched padding works; padding is handled explicitly by
    the evaluators, which never score pad positions.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    spec = str(path_or_id)
    path = Path(spec).expanduser()
    if path.exists():
        if path.is_file():
            if path.suffix != ".gguf":
                raise InputError(f"{spec}: is a file; pass the checkpoint folder (with config.json) or a .gguf file")
            from emergence_laws.models.gguf import converted_gguf

            path = converted_gguf(path)
        elif not (path / "config.json").exists():
            raise InputError(f"{spec}: no config.json in this folder; pass a Hugging Face checkpoint folder "
                             "(saved with save_pretrained)")
        source = str(path)
    elif _looks_like_path(spec):
        raise InputError(f"{spec}: no such checkpoint folder; check the path (or give a hub id like 'org/name')")
    else:
        source = spec
    try:
        with library_progress_bars():
            tokenizer = AutoTokenizer.from_pretrained(source)
            model = AutoModelForCausalLM.from_pretrained(source, dtype=torch_dtype)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{spec}: could not load the checkpoint ({first}); pass a local folder saved "
                         "with save_pretrained, or a hub id on a machine with a network") from exc
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        elif tokenizer.unk_token is not None:
            tokenizer.pad_token = tokenizer.unk_token
        else:
            tokenizer.add_special_tokens({"pad_token": "<pad>"})
            model.resize_token_embeddings(len(tokenizer))
    model.to(dev)
    model.eval()
    return model, tokenizer
