"""emergence-laws: predict emergent capabilities of language models by finetuning (Snell et al., 2024).

The science core (`emergence_laws.laws`, `emergence_laws.results`) imports no torch.
"""

from __future__ import annotations

__version__ = "0.1.0"

from emergence_laws.errors import EmergenceError, InputError, NotIdentifiableError

__all__ = ["__version__", "EmergenceError", "InputError", "NotIdentifiableError"]
