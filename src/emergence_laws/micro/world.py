"""The micro world: a seeded generated language, its pretraining corpus, a reference text, and one task.

The language has three kinds of documents (one per line):

* **Facts** — ``the calm white koi takes the ape .``: each of 4,608 entities (16 adjectives × 12
  colours × 24 nouns) has one fixed verb and object; entities are drawn with Zipfian frequencies,
  so a model memorises them head first and its loss keeps falling smoothly for the whole run — the
  knowledge that pretraining builds gradually, and that pretraining loss measures.
* **Quizzes** (rare: `quiz_frac` of the documents) — ``quiz calm white koi takes ? ape ; big red cat
  eats ? fish ;``: the same facts asked in a question format. Quizzes only ever ask about the
  *quizzable* half of the entities; the other half (every other entity in frequency order) is
  stated in facts but never quizzed.
* **Records** (the earlier world's skill; `record_frac`, 0 by default) — ``c3 a7 f1 e0 ; a 7 ;``:
  key-value lists followed by look-ups.

The task, ``fact-quiz`` (the default), asks the quiz question about entities that are never quizzed
in the corpus, as 4-way multiple choice over nouns (chance 1/4): ``quiz calm white koi takes ?`` →
``ape``. Answering needs two things: the fact (knowledge, which the model gains smoothly, frequent
entities first) and the skill of reading the quiz format for an entity it has only seen stated —
which, with quizzes this rare, a model picks up late and abruptly. Few-shot prompts (several
``quiz ... ? answer`` blocks joined by `` ; ``) sit at chance until then, then jump. Finetuning on
quiz examples teaches the format in a few steps and so exposes the knowledge of much weaker
checkpoints, the more so the more examples: the lever the emergence law measures. Test and
finetuning questions are about disjoint entities, so finetuning cannot teach the test answers.

The earlier task, ``kv-recall`` (a look-up in a fresh record), is kept for the world sweep
(`scripts/world_sweep.py`): there finetuning moves emergence by only ~0.04 nats.

Everything is a pure function of `WorldConfig` (its `seed` included); the tokenizer's vocabulary
is `MicroWorld.words`.
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
PUNCT: tuple[str, ...] = ("the", ".", ";", "?", "quiz")

TASKS: tuple[str, ...] = ("fact-quiz", "kv-recall")

Entity = tuple[str, str, str]


@dataclass(frozen=True)
class WorldConfig:
    """What determines the world. `task`: ``fact-quiz`` or ``kv-recall``; `quiz_frac` / `record_frac`:
    share of documents that are quizzes / records (the rest are facts); `quiz_lines`: min/max
    questions per quiz; `zipf`: exponent of entity frequencies; `test_band`: the frequency band
    (fractions of the never-quizzed entities, most frequent first) that fact-quiz questions come
    from, split in halves for test and finetuning; `pairs`: min/max pairs per record;
    `n_train`/`n_test`: task pool sizes (train = finetuning data and few-shot demos)."""

    seed: int = 0
    task: str = "fact-quiz"
    entities: tuple[int, int, int] = (16, 12, 24)
    zipf: float = 1.0
    quiz_frac: float = 0.002
    quiz_lines: tuple[int, int] = (1, 3)
    record_frac: float = 0.0
    pairs: tuple[int, int] = (4, 6)
    test_band: tuple[float, float] = (0.0, 0.2)
    n_choices: int = 4
    n_train: int = 2048
    n_test: int = 200
    reference_tokens: int = 8192

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"world task {self.task!r} is unknown; use one of {', '.join(TASKS)}")
        if not 0.0 <= self.quiz_frac + self.record_frac < 1.0:
            raise ConfigError("quiz_frac + record_frac must be in [0, 1): the rest of the corpus is facts")
        lo, hi = self.test_band
        if not 0.0 <= lo < hi <= 1.0:
            raise ConfigError(f"test_band {self.test_band} must satisfy 0 <= lo < hi <= 1")

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("pairs", "entities", "quiz_lines", "test_band"):
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
        self.unquizzed: list[Entity] = ents[1::2]  # stated in facts, never quizzed: the task asks about these
        self.quizzable: list[Entity] = ents[0::2]
        self._cum_quizzable = list(itertools.accumulate(weights[0::2]))

    @property
    def words(self) -> list[str]:
        """The vocabulary (without special tokens and newline), in a fixed order."""
        return [*KEYS, *VALUES, *FUSED, *self.nouns, *VERBS, *self.adjectives, *self.colours, *PUNCT]

    # -- documents -------------------------------------------------------------------------
    def _fact(self, rng: random.Random) -> list[str]:
        e = rng.choices(self.entities, cum_weights=self._cum_weights)[0]
        verb, obj = self.facts[e]
        return ["the", *e, verb, "the", obj, "."]

    def question(self, e: Entity) -> tuple[list[str], str]:
        """The quiz question about entity `e` (without the leading ``quiz``) and its answer."""
        verb, obj = self.facts[e]
        return [*e, verb, "?"], obj

    def _quiz(self, rng: random.Random) -> list[str]:
        out = ["quiz"]
        for _ in range(rng.randint(*self.config.quiz_lines)):
            e = rng.choices(self.quizzable, cum_weights=self._cum_quizzable)[0]
            q, a = self.question(e)
            out += [*q, a, ";"]
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
        u = rng.random()
        if u < self.config.quiz_frac:
            return self._quiz(rng)
        if u < self.config.quiz_frac + self.config.record_frac:
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

    # -- the tasks -------------------------------------------------------------------------
    def task(self) -> TaskSpec:
        """The configured task (multiple choice, chance = 1/n_choices); train and test are disjoint."""
        return self._fact_quiz() if self.config.task == "fact-quiz" else self._kv_recall()

    def quiz_entities(self) -> tuple[list[Entity], list[Entity]]:
        """(test entities, finetuning entities) of the fact-quiz task: the never-quizzed entities in
        `test_band`, split in two random halves."""
        lo, hi = self.config.test_band
        n = len(self.unquizzed)
        band = list(self.unquizzed[int(lo * n): max(int(hi * n), int(lo * n) + 2)])
        random.Random(f"quiz-split:{self.config.seed}").shuffle(band)
        half = len(band) // 2
        return band[:half], band[half:]

    def _quiz_example(self, e: Entity, rng: random.Random) -> Example:
        q, a = self.question(e)
        others = [n for n in self.nouns if n != a]
        rng.shuffle(others)
        choices = [a, *others[: self.config.n_choices - 1]]
        rng.shuffle(choices)
        return Example(prompt="quiz " + " ".join(q), choices=tuple(choices), answer=choices.index(a))

    def _fact_quiz(self) -> TaskSpec:
        rng = random.Random(f"task:{self.config.seed}")
        test_ents, train_ents = self.quiz_entities()
        # each test entity once before any repeats (answers of one entity are correlated)
        order = [test_ents[i % len(test_ents)] for i in range(self.config.n_test)]
        test = tuple(self._quiz_example(e, rng) for e in order)
        train = tuple(self._quiz_example(rng.choice(train_ents), rng) for _ in range(self.config.n_train))
        return TaskSpec(
            name="fact-quiz", kind="multiple_choice", train=train, test=test,
            fewshot_delimiter=" ; ", target_delimiter=" ", stop=(";",),
            metadata={"description": "", "world": self.config.to_dict()},
        )

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
