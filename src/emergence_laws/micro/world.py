"""The micro world: a seeded generated language, its pretraining corpus, a reference text, and one task.

The language has two kinds of documents (one per line):

* **Facts** — ``the calm white koi takes the ape .`` (1-4 per document): each of 4,608 entities (16
  adjectives × 12 colours × 24 nouns) has one fixed verb and object; entities are drawn with Zipfian
  frequencies, so a model memorises them head first and its loss keeps falling smoothly for the whole
  run — the knowledge that pretraining builds gradually, and that pretraining loss measures.
* **Records** (`record_frac` of the documents) — ``c3 a7 f1 e0 ; a 7 ;``: key-value lists followed by
  look-ups.

The task, ``kv-recall``, is a look-up in a fresh record: ``c3 a7 f1 e0 ; a`` → ``7``, as 4-way multiple
choice over values of the record (chance 1/4). It needs an attention circuit that pretraining forms
abruptly, long after the loss has started to fall: few-shot accuracy sits at chance, then jumps.

Everything is a pure function of `WorldConfig` (its `seed` included); the tokenizer's vocabulary is
`MicroWorld.words`. The vocabulary also holds the tokens of the fact worlds that research/ probes
(code words, ``quiz``, ``shout``, ``:``, ``?``), so that both share one tokenizer.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from emergence_laws.errors import ConfigError
from emergence_laws.tasks.spec import Example, TaskSpec

KEYS: tuple[str, ...] = tuple("abcdefgh")
VALUES: tuple[str, ...] = tuple("01234567")
FUSED: tuple[str, ...] = tuple(k + v for k in KEYS for v in VALUES)
NOUNS: tuple[str, ...] = ("cat", "dog", "bird", "fish", "fox", "owl", "bee", "ant", "cow", "pig", "hen", "elk", "bat", "rat", "eel", "yak", "ram", "emu", "cod", "gnu", "ape", "jay", "koi", "mole")
VERBS: tuple[str, ...] = ("sees", "finds", "likes", "eats", "chases", "hears", "takes", "wants")
ADJECTIVES: tuple[str, ...] = ("big", "old", "small", "fast", "tall", "young", "wild", "shy", "calm", "loud", "slow", "bold", "kind", "odd", "rich", "thin")
COLOURS: tuple[str, ...] = ("red", "blue", "green", "gray", "pink", "brown", "black", "white", "gold", "tan", "teal", "plum")
CODES: tuple[str, ...] = tuple(n.upper() for n in NOUNS)
PUNCT: tuple[str, ...] = ("the", ".", ";", "?", "quiz", "shout", ":")

TASKS: tuple[str, ...] = ("kv-recall",)

Entity = tuple[str, str, str]


@dataclass(frozen=True)
class WorldConfig:
    """What determines the world. `task`: ``kv-recall``; `record_frac`: share of documents that are records
    (the rest are plain facts); `zipf`: exponent of entity frequencies; `pairs`: min/max pairs per record;
    `n_choices`: choices per question; `n_train`/`n_test`: task pool sizes (train = finetuning data and
    few-shot demonstrations; the test split is drawn first, so a larger train pool extends the same one);
    `reference_tokens`: length of the reference text (pretraining loss)."""

    seed: int = 0
    task: str = "kv-recall"
    entities: tuple[int, int, int] = (16, 12, 24)
    zipf: float = 1.0
    record_frac: float = 0.2
    pairs: tuple[int, int] = (4, 6)
    n_choices: int = 4
    n_train: int = 2048
    n_test: int = 400
    reference_tokens: int = 8192

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"world task {self.task!r} is unknown; use one of {', '.join(TASKS)}")
        if not 0.0 <= self.record_frac < 1.0:
            raise ConfigError(f"record_frac {self.record_frac} must be in [0, 1): the rest of the corpus is plain facts")
        lo, hi = self.pairs
        if not 2 <= lo <= hi <= len(KEYS) or self.n_choices > lo:
            raise ConfigError(f"pairs {self.pairs} must satisfy n_choices ({self.n_choices}) <= lo <= hi <= {len(KEYS)}")
        if self.n_train < 1 or self.n_test < 1:
            raise ConfigError(f"n_train ({self.n_train}) and n_test ({self.n_test}) must be >= 1")

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("pairs", "entities"):
            d[k] = list(d[k])
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
        self.entities: list[Entity] = ents  # most frequent first
        self.facts = {e: (rng.choice(VERBS), rng.choice(self.nouns)) for e in ents}
        weights = [1.0 / (i + 1) ** self.config.zipf for i in range(len(ents))]
        self._cum_weights = list(itertools.accumulate(weights))  # as random.choices builds from weights
        self.code = dict(zip(NOUNS, CODES))  # the code words of the fact worlds (research/), in the vocabulary

    @property
    def words(self) -> list[str]:
        """The vocabulary (without special tokens and newline), in a fixed order."""
        return [*KEYS, *VALUES, *FUSED, *self.nouns, *(self.code[n] for n in self.nouns), *VERBS, *self.adjectives,
                *self.colours, *PUNCT]

    # -- documents -------------------------------------------------------------------------
    def statement(self, e: Entity) -> list[str]:
        """The fact about `e`: ``the A C N verb the`` + object + ``.``."""
        verb, obj = self.facts[e]
        return ["the", *e, verb, "the", obj, "."]

    def _fact(self, rng: random.Random) -> list[str]:
        return self.statement(rng.choices(self.entities, cum_weights=self._cum_weights)[0])

    def _facts(self, rng: random.Random) -> list[str]:
        """A document of 1-4 facts."""
        out: list[str] = []
        for _ in range(rng.randint(1, 4)):
            out += self._fact(rng)
        return out

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
        return self._record(rng) if rng.random() < self.config.record_frac else self._facts(rng)

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

    # -- the tasks -------------------------------------------------------------------------
    def task(self) -> TaskSpec:
        """The task (multiple choice, chance = 1/n_choices); train and test are disjoint."""
        return self._kv_recall()

    def _kv_example(self, rng: random.Random) -> Example:
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

    def _kv_recall(self) -> TaskSpec:
        rng = random.Random(f"task:{self.config.seed}")
        seen: set[str] = set()
        train: list[Example] = []
        test: list[Example] = []
        while len(test) < self.config.n_test:
            ex = self._kv_example(rng)
            if ex.prompt not in seen:
                seen.add(ex.prompt)
                test.append(ex)
        while len(train) < self.config.n_train:
            ex = self._kv_example(rng)
            if ex.prompt not in seen:
                seen.add(ex.prompt)
                train.append(ex)
        return TaskSpec(
            name="kv-recall", kind="multiple_choice", train=tuple(train), test=tuple(test),
            fewshot_delimiter="\n\n", target_delimiter=" ", stop=("\n",),
            metadata={"description": "", "world": self.config.to_dict()},
        )


def write_task_jsonl(task: TaskSpec, path: str | Path) -> Path:
    """Write `task` as one JSONL file with a "split" field per row (readable by `emergence_laws.tasks.load_task`),
    through a temporary file and an atomic rename."""
    from emergence_laws.micro.cache import atomic_write_text

    lines = []
    for split, examples in (("train", task.train), ("test", task.test)):
        for ex in examples:
            lines.append(json.dumps({"prompt": ex.prompt, "choices": list(ex.choices or ()), "answer": ex.answer,
                                     "split": split}))
    return atomic_write_text(path, "\n".join(lines) + "\n")
