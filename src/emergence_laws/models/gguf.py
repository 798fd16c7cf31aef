"""GGUF checkpoints (llama.cpp files), dequantised once into a cached Hugging Face folder.

transformers reads a `.gguf` file by dequantising every tensor to float (about 50 s for a 135M
model on one core). A study loads a checkpoint once per job, so the dequantised model is saved
once, as fp32 safetensors plus tokenizer, under ``gguf_cache_dir() / <name>-<fingerprint>``; later
loads read that folder (about a second). Reading GGUF needs the `gguf` package
(``pip install 'emergence-laws[gguf]'``).

    folder = converted_gguf("SmolLM2-135M-Instruct.Q4_1.gguf")   # converts on first call only
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from emergence_laws.errors import InputError

#: Marker written last into a finished conversion folder (a folder without it is incomplete).
DONE = "emergence_gguf.json"


def gguf_cache_dir() -> Path:
    """Where converted GGUF checkpoints live: ``$EMERGENCE_CACHE/gguf``, else
    ``$XDG_CACHE_HOME/emergence-laws/gguf`` (default ``~/.cache/emergence-laws/gguf``)."""
    root = os.environ.get("EMERGENCE_CACHE")
    if root:
        return Path(root).expanduser() / "gguf"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "emergence-laws" / "gguf"


def require_gguf(where: str = "") -> None:
    """Raise InputError (naming the extra to install) when the `gguf` package is missing."""
    try:
        import gguf  # noqa: F401
    except ImportError:
        prefix = f"{where}: " if where else ""
        raise InputError(f"{prefix}reading .gguf files needs the gguf package; "
                         "pip install 'emergence-laws[gguf]' (or pip install gguf)") from None


def gguf_fingerprint(path: str | Path) -> str:
    """A short hash of a GGUF file's name, size and sampled content (see `hashing.file_digest`)."""
    from emergence_laws.hashing import digest, file_digest

    p = Path(path)
    return digest({"gguf": p.name, "size": p.stat().st_size, "content": file_digest(p, full=False)}, 16)


def _is_done(folder: Path) -> bool:
    return (folder / DONE).is_file() and (folder / "config.json").is_file()


def _plain_model(model):
    """Drop transformers' GGUF quantizer bookkeeping from a fully dequantised model, so it saves
    as an ordinary checkpoint (transformers >= 5 keeps a quantizer object even after dequantising)."""
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        import torch

        odd = [n for n, m in model.named_modules()
               if "gguf" in type(m).__name__.lower() or any(p.dtype not in (torch.float32, torch.bfloat16, torch.float16)
                                                            for p in m.parameters(recurse=False))]
        if odd:
            raise InputError(f"GGUF weights of {odd[0]} were not dequantised; uninstall the `kernels` package "
                             "or load the file with transformers directly")
        quantizer.remove_quantization_config(model)
    return model


def convert_gguf(path: str | Path, out: str | Path) -> Path:
    """Dequantise `path` (a .gguf file) with transformers and save model (fp32) + tokenizer to `out`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    p = Path(path).expanduser()
    require_gguf(str(p))
    kwargs = {"gguf_file": p.name}
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(p.parent), **kwargs)
        model = AutoModelForCausalLM.from_pretrained(str(p.parent), dtype=torch.float32, **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"{p}: could not read this GGUF file ({first}); give a llama.cpp GGUF of a "
                         "supported architecture (llama, mistral, qwen2, gemma, ...)") from exc
    _plain_model(model)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def converted_gguf(path: str | Path, cache_dir: str | Path | None = None) -> Path:
    """The cached Hugging Face folder of a GGUF file, converting it on the first call.

    Safe under concurrency: each converter writes a private temporary folder and renames it into
    place; when two race, the loser discards its copy and uses the winner's.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"{p}: GGUF file not found; check the path")
    root = Path(cache_dir) if cache_dir is not None else gguf_cache_dir()
    target = root / f"{p.stem}-{gguf_fingerprint(p)}"
    if _is_done(target):
        return target
    require_gguf(str(p))
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{p.stem}-", dir=root))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would hide a shared cache from other users
    except OSError as exc:
        raise InputError(f"{root}: cannot write the GGUF conversion cache ({exc.strerror}); "
                         "set EMERGENCE_CACHE to a writable folder") from exc
    print(f"emergence: converting {p.name} to a cached Hugging Face folder in {root} (once per file)",
          file=sys.stderr, flush=True)
    try:
        convert_gguf(p, tmp)
        (tmp / DONE).write_text(json.dumps({"source": str(p.resolve()), "fingerprint": target.name}))
        if target.exists() and not _is_done(target):  # a crashed earlier attempt
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:
            if not _is_done(target):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
