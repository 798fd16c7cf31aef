"""How evaluations run: batch size, device, dtype, per-example records; declared once with their constraints.

Read by the study YAML's ``eval:`` section, the `eval` command's flags and the Python API alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from emergence_laws.constraints import Check, Constraints, Interval, Options
from emergence_laws.devices import DEVICE_NAMES, check_device_name
from emergence_laws.models.dtypes import LOAD_DTYPES

#: `EvalSettings.keep_examples=None` keeps per-example records of jobs with at most this many examples.
KEEP_EXAMPLES_UP_TO = 1000


def _device_name(value: Any, key: str) -> str | None:
    check_device_name(value, key)  # raises InputError with its own one line (syntax only: no torch)
    return None


@dataclass(frozen=True)
class EvalSettings:
    """How evaluations run.

    Attributes:
        batch_size: sequences per forward pass (per-example scores do not depend on it).
        device: auto | cpu | cuda | cuda:N | mps (`emergence run` checks that this machine has it when jobs
            run locally).
        dtype: auto (bfloat16 on CUDA, float32 elsewhere) | float32 | bfloat16 | float16.
        keep_examples: store each job's per-example records (exact context, log-likelihoods, generation) in
            the store's ``examples`` table; None = when a job evaluates at most `KEEP_EXAMPLES_UP_TO` examples.
    """

    batch_size: int = 16
    device: str = "auto"
    dtype: str = "auto"
    keep_examples: bool | None = None

    _parameter_constraints: ClassVar[Constraints] = {
        "batch_size": [Interval(int, 1)],
        "device": [Check(_device_name, DEVICE_NAMES)],
        "dtype": [Options(LOAD_DTYPES)],
        "keep_examples": [Options((True, False), use="true, false or leave it unset (kept for small jobs)"), None],
    }

    def keeps_examples(self, n_eval: int) -> bool:
        """Whether a job of `n_eval` examples keeps its per-example records."""
        return n_eval <= KEEP_EXAMPLES_UP_TO if self.keep_examples is None else bool(self.keep_examples)
