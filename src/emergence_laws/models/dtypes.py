"""The dtype names the tool accepts, torch-free: read by the settings' constraints and by `load_model`.

``auto`` is bfloat16 on CUDA (when supported) and float32 elsewhere, for loading; for finetuning it is
bf16 autocast on CUDA and float32 elsewhere. Finetuning trains in float32 or under bf16 autocast, never
in float16 weights, so float16 is a loading dtype only.
"""

from __future__ import annotations

#: Names of the dtypes a checkpoint can be loaded in (each a `torch` attribute), besides "auto".
TORCH_DTYPES: tuple[str, ...] = ("float32", "bfloat16", "float16")

#: `EvalSettings.dtype`, `--dtype`, `load_model(dtype=...)`.
LOAD_DTYPES: tuple[str, ...] = ("auto", *TORCH_DTYPES)

#: `FinetuneSettings.dtype`, `finetune.dtype`, `--finetune-dtype`.
TRAIN_DTYPES: tuple[str, ...] = ("auto", "float32", "bfloat16")
