"""The micro world: a seeded generated language, its pretraining corpus, a reference text, and one task.

The language has two kinds of documents (one per line):

* **Facts** — ``the big red cat eats the fish .``: each of 4,608 entities (16 adjectives × 12
  colours × 24 nouns) has one fixed verb and object; entities are drawn with Zipfian frequencies,
  so a model memorises them head first and its loss keeps falling smoothly for the whole run (the
  "general capability" that pretraining loss measures).
* **Records** — ``c3 a7 f1 e0 ; a 7 ; e 0 ;``: a list of key-value pairs written as fused tokens
  (key letter + value digit), then a few look-ups (a key, then its value). Predicting a looked-up
  value needs an attention circuit that matches the key against the fused tokens and copies the
  value out of the match; it forms abruptly after a long plateau — the emergent skill.

The task, ``kv-recall``, is that look-up as a 4-way multiple choice: the prompt is a fresh record and
a key (``c3 a7 f1 e0 ; a``), the choices are four of the record's values, the answer is the key's.
Chance is exactly 1/4: every choice occurs once in the prompt, in random order. Few-shot accuracy
sits at chance until the circuit forms, then jumps; finetuning on look-up examples builds the circuit
in weaker checkpoints, the more so the more examples — the phenomenon the emergence law models.

Everything is a pure function of `WorldConfig` (its `seed` included); the tokenizer's vocabulary
is `MicroWorld.words`.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from emergence_laws.tasks.spec import Example, TaskSpec

KEYS: tuple[str, ...] = tuple("abcdefgh")
VALUES: tuple[str, ...] = tuple("01234567")
FUSED: tuple[str, ...] = tuple(k + v for k in KEYS for v in VALUES)
NOUNS: tuple[str, ...] = ("cat", "dog", "bird", "fish", "fox", "owl", "bee", "ant", "cow", "pig", "hen", "elk", "bat", "rat", "eel", "yak", "ram", "emu", "cod", "gnu", "ape", "jay", "koi", "mole")
VERBS: tuple[str, ...] = ("sees", "finds", "likes", "eats", "chases", "hears", "takes", "wants")
ADJECTIVES: tuple[str, ...] = ("big", "old", "small", "fast", "tall", "young", "wild", "shy", "calm", "loud", "slow", "bold", "kind", "odd", "rich", "thin")
COLOURS: tuple[str, ...] = ("red", "blue", "green", "gray", "pink", "brown", "black", "white", "gold", "tan", "teal", "plum")
PUNCT: tuple[str, ...] = ("the", ".", ";")

TASK_NAME = "kv-recall"


@dataclass(frozen=True)
class WorldConfig:
    """What determines the world. `record_frac`: share of documents that are records (more →
    the skill forms earlier); `zipf`: exponent of entity frequencies; `pairs`: min/max pairs per
    record; `n_train`/`n_test`: task pool sizes (train = finetuning data and few-shot demos)."""

    seed: int = 0
    record_frac: float = 0.15
    entities: tuple[int, int, int] = (16, 12, 24)
    zipf: float = 1.0
    pairs: tuple[int, int] = (4, 6)
    n_choices: int = 4
    n_train: int = 2048
    n_test: int = 200
    reference_tokens: int = 8192

    def to_dict(self) -> dict:
        d = asdict(self)
        d["pairs"] = list(self.pairs)
        d["entities"] = list(self.entities)
        return d


class MicroWorld:
    """The generated world of one `WorldConfig`: corpus, reference text and task, all seeded."""

    def __init__(self, config: WorldConfig | None = None) -> None:
        self.config = config or WorldConfig()
        rng = random.Random(f"world:{self.config.seed}")
        na, nc, nn = self.config.entities
        self.adjectives, self.colours, self.nouns = ADJECTIVES[:na], COLOURS[:nc], NOUNS[:nn]
        ents = [(a, c, n) for a in self.adjectives for c in self.colours for n in self.nouns]
        rng.shuffle(ents)
        self.entities: list[tuple[str, str, str]] = ents
        self.facts = {e: (rng.choice(VERBS), rng.choice(self.nouns)) for e in ents}
        weights = [1.0 / (i + 1) ** self.config.zipf for i in range(len(ents))]
        self._cum_weights = list(itertools.accumulate(weights))  # as random.choices builds from weights

    @property
    def words(self) -> list[str]:
        """The vocabulary (without special tokens and newline), in a fixed order."""
        return [*KEYS, *VALUES, *FUSED, *self.nouns, *VERBS, *self.adjectives, *self.colours, *PUNCT]

    # -- documents -------------------------------------------------------------------------
    def _fact(self, rng: random.Random) -> list[str]:
        e = rng.choices(self.entities, cum_weights=self._cum_weights)[0]
        verb, obj = self.facts[e]
        return ["the", *e, verb, "the", obj, "."]

    def _record(self, rng: random.Random) -> list[str]:
        n = rng.randint(*self.config.pairs)
        keys = rng.sample(KEYS, n)
        vals = [rng.choice(VALUES) for _ in keys]
        out = [k + v for k, v in zip(keys, vals)] + [";"]
        order = list(range(n))
        rng.shuffle(order)
        for i in order[: rng.randint(1, 3)]:
            out += [keys[i], vals[i], ";"]
        return out

    def _document(self, rng: random.Random) -> list[str]:
        if rng.random() < self.config.record_frac:
            return self._record(rng)
        out: list[str] = []
        for _ in range(rng.randint(1, 4)):
            out += self._fact(rng)
        return out

    def corpus_words(self, n_tokens: int, stream: str = "train") -> list[str]:
        """`n_tokens` words of corpus (documents separated by newline tokens), from RNG stream `stream`."""
        rng = random.Random(f"corpus:{self.config.seed}:{stream}")
        out: list[str] = []
        while len(out) < n_tokens:
            out += self._document(rng)
            out.append("\n")
        return out[:n_tokens]

    def reference_text(self) -> str:
        """Held-out text from the pretraining distribution (its own RNG stream), for pretraining loss."""
        words = self.corpus_words(self.config.reference_tokens, stream="reference")
        return " ".join(words).replace(" \n ", "\n").replace(" \n", "\n")

    # -- the task --------------------------------------------------------------------------
    def _example(self, rng: random.Random) -> Example:
        n = rng.randint(*self.config.pairs)
        keys = rng.sample(KEYS, n)
        vals = rng.sample(VALUES, n)  # distinct values: each choice appears once in the prompt
        i = rng.randrange(n)
        prompt = " ".join([k + v for k, v in zip(keys, vals)] + [";", keys[i]])
        others = [v for j, v in enumerate(vals) if j != i]
        rng.shuffle(others)
        choices = [vals[i]] + others[: self.config.n_choices - 1]
        rng.shuffle(choices)
        return Example(prompt=prompt, choices=tuple(choices), answer=choices.index(vals[i]))

    def task(self) -> TaskSpec:
        """The `kv-recall` multiple-choice task (chance = 1/n_choices); train and test are disjoint."""
        rng = random.Random(f"task:{self.config.seed}")
        seen: set[str] = set()
        train: list[Example] = []
        test: list[Example] = []
        while len(test) < self.config.n_test:
            ex = self._example(rng)
            if ex.prompt not in seen:
                seen.add(ex.prompt)
                test.append(ex)
        while len(train) < self.config.n_train:
            ex = self._example(rng)
            if ex.prompt not in seen:
                seen.add(ex.prompt)
                train.append(ex)
        return TaskSpec(
            name=TASK_NAME, kind="multiple_choice", train=tuple(train), test=tuple(test),
            fewshot_delimiter="\n\n", target_delimiter=" ", stop=("\n",),
            metadata={"description": "", "world": self.config.to_dict()},
        )


def write_task_jsonl(task: TaskSpec, path: str | Path) -> Path:
    """Write `task` as one JSONL file with a "split" field per row (readable by `emergence_laws.tasks.load_task`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for split, examples in (("train", task.train), ("test", task.test)):
            for ex in examples:
                fh.write(json.dumps({"prompt": ex.prompt, "choices": list(ex.choices or ()), "answer": ex.answer,
                                     "split": split}) + "\n")
    return path
