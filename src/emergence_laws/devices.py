"""Which torch devices a name may mean, and whether this machine has them: checked before any work.

``auto`` and ``cpu`` are always there; ``cuda``, ``cuda:N`` and ``mps`` are checked against torch
(imported only then), so that ``--device cuda`` on a machine without CUDA is one line that says
what the machine has, not a traceback from deep inside the first model load.
"""

from __future__ import annotations

import re

from emergence_laws.errors import InputError

#: The device names the tool accepts (``cuda:N`` with N a GPU index).
DEVICE_NAMES = "auto, cpu, cuda, cuda:N or mps"

_DEVICE = re.compile(r"^(auto|cpu|cuda|mps)(?::(\d+))?$")


def check_device_name(device: str, where: str) -> None:
    """InputError unless `device` is one of `DEVICE_NAMES` (syntax only; torch is not imported)."""
    m = _DEVICE.match(str(device).strip())
    if m is None or (m.group(2) is not None and m.group(1) in ("auto", "cpu")):
        raise InputError(f"{where} {device!r}: not a device; use {DEVICE_NAMES}")


def available_devices() -> list[str]:
    """The devices torch can use on this machine, e.g. ``["cpu", "cuda:0", "cuda:1"]`` or ``["cpu", "mps"]``."""
    import torch

    out = ["cpu"]
    if torch.cuda.is_available():
        out += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return out


def check_device(device: str, where: str, instead: str = "--device auto (or cpu)") -> None:
    """InputError unless this machine has `device` (``auto`` and ``cpu`` always pass, without torch);
    `where` names the setting, `instead` what to use instead."""
    check_device_name(device, where)
    name = str(device).strip()
    if name in ("auto", "cpu"):
        return
    import torch

    have = available_devices()
    kind, index = _DEVICE.match(name).groups()
    fix = f"available here: {', '.join(have)}; use {instead}, or run where the device is"
    if kind == "cuda":
        if not torch.cuda.is_available():
            why = ("torch was built without CUDA" if torch.version.cuda is None
                   else f"torch {torch.__version__} (CUDA {torch.version.cuda}) finds no GPU")
            raise InputError(f"{where} {name}: this machine has no CUDA device ({why}); {fix}")
        count = torch.cuda.device_count()
        if index is not None and int(index) >= count:
            raise InputError(f"{where} {name}: out of range, this machine has {count} CUDA device(s) "
                             f"(cuda:0 to cuda:{count - 1}); {fix}")
    elif kind == "mps":
        if "mps" not in have:
            raise InputError(f"{where} {name}: this machine has no Apple MPS device; {fix}")
        if index not in (None, "0"):
            raise InputError(f"{where} {name}: MPS has one device; use mps; {fix}")
