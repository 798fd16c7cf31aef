"""The micro world: a seeded generated language, its pretraining corpus, a reference text, and one task.

The language has five kinds of documents (one per line):

* **Facts** — ``the calm white koi takes the ape .``: each of 4,608 entities (16 adjectives × 12
  colours × 24 nouns) has one fixed verb and object; entities are drawn with Zipfian frequencies,
  so a model memorises them head first and its loss keeps falling smoothly for the whole run — the
  knowledge that pretraining builds gradually, and that pretraining loss measures.
* **Shouted facts** (rare: `code_frac` of the documents) — ``shout : the calm white koi takes the
  APE . the big red cat eats the FISH .``: the same facts in a register where every object is
  written as its code word (one new token per noun: ``ape`` → ``APE``). They only ever state the
  facts of the *shown* half of the entities; the other half (every other entity in frequency
  order) is stated in plain facts only.
* **Quizzes** (`quiz_frac`, 0 by default) — ``quiz calm white koi takes ? ape ;``: the facts asked
  in a question format, for the shown half only.
* **Records** (`record_frac`, 0 by default) — ``c3 a7 f1 e0 ; a 7 ;``: key-value lists followed by
  look-ups.
* **Asked facts** (`ask_frac`, 0 by default) — ``the calm white koi takes ? ape .``: facts of the shown
  half with the ``the`` before the object written ``?``.

The default task, ``fact-code``, asks for a fact of the *held-out* half in the shouted register, as
4-way multiple choice over code words (chance 1/4): ``shout : the calm white koi takes the`` →
``APE``. Answering needs the fact (knowledge, which the model gains smoothly, frequent entities
first) and the code of its object (an output format that pretraining teaches only through the rare
shouted documents). Few-shot prompts (several shouted facts of other held-out entities, then the
question) stay near chance long after the knowledge is there. Finetuning on shouted facts was meant
to teach the code and so expose the knowledge of much weaker checkpoints. In these tiny models it
does not: the knowledge is there inside the shouted prompts (the same prompts with the plain nouns as
the choices score like the cloze), but finetuning, full or LoRA, learns its own entities' codes and
leaves the test entities near chance (``docs/world_probe_fact_code.md``), which is why the demo uses
``kv-recall``. Test and finetuning questions are about disjoint entities, so finetuning cannot teach
the test answers.

``fact-ask`` asks the held-out half's facts in the asked form (``the calm white koi takes ?`` →
``ape``): one token away from the plain facts the model knows early. When pretraining carries ``?``
over to entities it never saw asked depends on `ask_frac` and on the seed; on the ladders measured so
far it does so together with the knowledge (``docs/world_sweep_fact_ask.md``), so the task is kept for
the sweep, not used by the demo.

Two earlier candidate tasks are kept for the world sweep (`scripts/world_sweep.py`): ``fact-quiz``
(the quiz format for held-out entities) and ``kv-recall`` (a look-up in a fresh record, an attention
circuit that forms abruptly; there finetuning moves emergence little until it has thousands of
examples).

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
CODES: tuple[str, ...] = tuple(n.upper() for n in NOUNS)
PUNCT: tuple[str, ...] = ("the", ".", ";", "?", "quiz", "shout", ":")

TASKS: tuple[str, ...] = ("fact-ask", "fact-code", "fact-quiz", "kv-recall")

Entity = tuple[str, str, str]


@dataclass(frozen=True)
class WorldConfig:
    """What determines the world. `task`: ``fact-code``, ``fact-quiz`` or ``kv-recall``;
    `code_frac` / `quiz_frac` / `record_frac`: share of documents that are shouted facts / quizzes /
    records (the rest are plain facts); `code_facts` / `quiz_lines`: min/max facts per shouted
    document / questions per quiz; `zipf`: exponent of entity frequencies; `test_band`: the
    frequency band (fractions of the held-out entities, most frequent first) that fact-code and
    fact-quiz questions come from, split in halves for test and finetuning; `pairs`: min/max pairs
    per record; `n_train`/`n_test`: task pool sizes (train = finetuning data and few-shot demos)."""

    seed: int = 0
    task: str = "fact-code"
    entities: tuple[int, int, int] = (16, 12, 24)
    zipf: float = 1.0
    code_frac: float = 0.0001
    code_facts: tuple[int, int] = (1, 4)
    quiz_frac: float = 0.0
    quiz_lines: tuple[int, int] = (1, 3)
    ask_frac: float = 0.0
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
        fracs = (self.code_frac, self.quiz_frac, self.record_frac, self.ask_frac)
        if min(fracs) < 0.0 or sum(fracs) >= 1.0:
            raise ConfigError("code_frac, quiz_frac, record_frac and ask_frac must be >= 0 and sum to < 1: the rest "
                              "of the corpus is plain facts")
        lo, hi = self.test_band
        if not 0.0 <= lo < hi <= 1.0:
            raise ConfigError(f"test_band {self.test_band} must satisfy 0 <= lo < hi <= 1")

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("pairs", "entities", "code_facts", "quiz_lines", "test_band"):
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
        self.held_out: list[Entity] = ents[1::2]  # only ever stated plainly: the task asks about these
        self.shown: list[Entity] = ents[0::2]  # also shouted and quizzed
        self._cum_shown = list(itertools.accumulate(weights[0::2]))
        self.code = dict(zip(NOUNS, CODES))

    @property
    def words(self) -> list[str]:
        """The vocabulary (without special tokens and newline), in a fixed order."""
        return [*KEYS, *VALUES, *FUSED, *self.nouns, *(self.code[n] for n in self.nouns), *VERBS, *self.adjectives,
                *self.colours, *PUNCT]

    # -- documents -------------------------------------------------------------------------
    def statement(self, e: Entity, *, shouted: bool = False, asked: bool = False) -> list[str]:
        """The fact about `e` (``the A C N verb the`` + object + ``.``), its object coded when `shouted`,
        the ``the`` before the object written ``?`` when `asked`."""
        verb, obj = self.facts[e]
        return ["the", *e, verb, "?" if asked else "the", self.code[obj] if shouted else obj, "."]

    def _fact(self, rng: random.Random) -> list[str]:
        return self.statement(rng.choices(self.entities, cum_weights=self._cum_weights)[0])

    def _shouted(self, rng: random.Random, *, asked: bool = False) -> list[str]:
        """Shouted (or, when `asked`, asked) facts of the shown half; asked documents have no header."""
        out = [] if asked else ["shout", ":"]
        for _ in range(rng.randint(*self.config.code_facts)):
            e = rng.choices(self.shown, cum_weights=self._cum_shown)[0]
            out += self.statement(e, shouted=not asked, asked=asked)
        return out

    def question(self, e: Entity) -> tuple[list[str], str]:
        """The quiz question about entity `e` (without the leading ``quiz``) and its answer."""
        verb, obj = self.facts[e]
        return [*e, verb, "?"], obj

    def _quiz(self, rng: random.Random) -> list[str]:
        out = ["quiz"]
        for _ in range(rng.randint(*self.config.quiz_lines)):
            e = rng.choices(self.shown, cum_weights=self._cum_shown)[0]
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
        u, c = rng.random(), self.config
        if u < c.code_frac:
            return self._shouted(rng)
        if u < c.code_frac + c.quiz_frac:
            return self._quiz(rng)
        if u < c.code_frac + c.quiz_frac + c.record_frac:
            return self._record(rng)
        if u < c.code_frac + c.quiz_frac + c.record_frac + c.ask_frac:
            return self._shouted(rng, asked=True)
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
        return self._kv_recall() if self.config.task == "kv-recall" else self._fact_task(self.config.task)

    def task_entities(self) -> tuple[list[Entity], list[Entity]]:
        """(test entities, finetuning entities) of the fact tasks: the held-out entities in `test_band`,
        split in two random halves."""
        lo, hi = self.config.test_band
        n = len(self.held_out)
        band = list(self.held_out[int(lo * n): max(int(hi * n), int(lo * n) + 2)])
        random.Random(f"quiz-split:{self.config.seed}").shuffle(band)
        half = len(band) // 2
        return band[:half], band[half:]

    def _fact_example(self, kind: str, e: Entity, rng: random.Random) -> Example:
        """One question about entity `e` in the register of fact task `kind`; the choices are the answer
        and `n_choices - 1` other nouns (as code words for fact-code), in random order."""
        obj = self.facts[e][1]
        others = [n for n in self.nouns if n != obj]
        rng.shuffle(others)
        choices = [obj, *others[: self.config.n_choices - 1]]
        rng.shuffle(choices)
        if kind == "fact-quiz":  # the corpus's quiz line without its answer
            prompt = ["quiz", *self.question(e)[0]]
        else:  # the corpus's statement without its object and full stop
            prompt = self.statement(e, asked=kind == "fact-ask")[:-2]
        shown = tuple(self.code[c] for c in choices) if kind == "fact-code" else tuple(choices)
        return Example(prompt=" ".join(prompt), choices=shown, answer=choices.index(obj))

    def _fact_task(self, kind: str) -> TaskSpec:
        """A fact task: questions about the held-out entities in a register that pretraining shows only
        for the shown half. Each test entity is asked once before any repeats (answers about one entity
        are correlated); finetuning examples are about the other half of the band."""
        rng = random.Random(f"task:{self.config.seed}")
        test_ents, train_ents = self.task_entities()
        test = tuple(self._fact_example(kind, test_ents[i % len(test_ents)], rng) for i in range(self.config.n_test))
        train = tuple(self._fact_example(kind, rng.choice(train_ents), rng) for _ in range(self.config.n_train))
        quiz = kind == "fact-quiz"
        return TaskSpec(
            name=kind, kind="multiple_choice", train=train, test=test,
            fewshot_delimiter=" ; " if quiz else " . ", target_delimiter=" ", stop=(";",) if quiz else (".",),
            metadata={"description": "shout : " if kind == "fact-code" else "", "world": self.config.to_dict()},
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
