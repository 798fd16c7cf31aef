"""Write addition_mc.jsonl: 3-digit addition as 4-way multiple choice (1200 train + 200 test rows).

Deterministic (seed 0). Distractors are off by 1, 10 and 100, so a model must get every digit
right: a classic few-shot task that small models do at chance.
    python examples/data/make_addition_task.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).with_name("addition_mc.jsonl")


def main(path: Path = OUT, n_train: int = 1200, n_test: int = 200) -> None:
    rng = random.Random(0)
    seen: set[tuple[int, int]] = set()
    rows = []
    while len(rows) < n_train + n_test:
        a, b = rng.randrange(100, 1000), rng.randrange(100, 1000)
        if (a, b) in seen:
            continue
        seen.add((a, b))
        s = a + b
        choices = [str(s), *(str(s + d * rng.choice((-1, 1))) for d in (1, 10, 100))]
        rng.shuffle(choices)
        split = "train" if len(rows) < n_train else "test"
        rows.append({"question": f"Question: What is {a} plus {b}?\nAnswer:", "choices": choices,
                     "answer": choices.index(str(s)), "split": split})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
