"""The fact worlds of the probes: the micro world plus rare documents in other registers, and tasks that
ask the held-out half's facts in those registers. Not used by the demo (see README.md here).

Beside the micro world's plain facts and records (`emergence_laws.micro.world`), a `FactWorld` writes:

* **Shouted facts** (`code_frac` of the documents) — ``shout : the calm white koi takes the APE .``:
  facts of the *shown* half with every object written as its code word (``ape`` → ``APE``).
* **Quizzes** (`quiz_frac`) — ``quiz calm white koi takes ? ape ;``: the shown half's facts as questions.
* **Asked facts** (`ask_frac`) — ``the calm white koi takes ? ape .``: the shown half's facts with the
  ``the`` before the object written ``?``.

Tasks (4-way multiple choice over the held-out half's facts, chance 1/4): ``fact-code`` (the shouted
register: ``shout : the calm white koi takes the`` → ``APE``), ``fact-quiz`` (the quiz format) and
``fact-ask`` (the asked form). Test and finetuning questions are about disjoint halves of the held-out
entities in `test_band` (fractions of them, most frequent first). What the probes found with these worlds
is in docs/world_*.md.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from emergence_laws.errors import ConfigError
from emergence_laws.micro.world import MicroWorld, WorldConfig
from emergence_laws.tasks.spec import Example, TaskSpec

FACT_TASKS: tuple[str, ...] = ("fact-ask", "fact-code", "fact-quiz")

Entity = tuple[str, str, str]


@dataclass(frozen=True)
class FactWorldConfig(WorldConfig):
    """A `WorldConfig` with the fact registers: `task` one of FACT_TASKS (or ``kv-recall``); `code_frac` /
    `quiz_frac` / `ask_frac`: share of documents that are shouted facts / quizzes / asked facts;
    `code_facts` / `quiz_lines`: min/max facts per shouted or asked document / questions per quiz;
    `test_band`: the frequency band of held-out entities the questions come from."""

    task: str = "fact-code"
    record_frac: float = 0.0
    code_frac: float = 0.0001
    code_facts: tuple[int, int] = (1, 4)
    quiz_frac: float = 0.0
    quiz_lines: tuple[int, int] = (1, 3)
    ask_frac: float = 0.0
    test_band: tuple[float, float] = (0.0, 0.2)

    def __post_init__(self) -> None:
        if self.task not in (*FACT_TASKS, "kv-recall"):
            raise ConfigError(f"world task {self.task!r} is unknown; use one of {', '.join((*FACT_TASKS, 'kv-recall'))}")
        fracs = (self.code_frac, self.quiz_frac, self.record_frac, self.ask_frac)
        if min(fracs) < 0.0 or sum(fracs) >= 1.0:
            raise ConfigError("code_frac, quiz_frac, record_frac and ask_frac must be >= 0 and sum to < 1: the rest "
                              "of the corpus is plain facts")
        lo, hi = self.test_band
        if not 0.0 <= lo < hi <= 1.0:
            raise ConfigError(f"test_band {self.test_band} must satisfy 0 <= lo < hi <= 1")

    def to_dict(self) -> dict:
        d = super().to_dict()
        for k in ("code_facts", "quiz_lines", "test_band"):
            d[k] = list(d[k])
        return d


class FactWorld(MicroWorld):
    """The world of one `FactWorldConfig`; the same entities, facts and vocabulary as `MicroWorld`."""

    config: FactWorldConfig

    def __init__(self, config: FactWorldConfig | None = None) -> None:
        super().__init__(config or FactWorldConfig())
        weights = [1.0 / (i + 1) ** self.config.zipf for i in range(len(self.entities))]
        self.held_out: list[Entity] = self.entities[1::2]  # only ever stated plainly: the tasks ask about these
        self.shown: list[Entity] = self.entities[0::2]  # also shouted, quizzed and asked
        self._cum_shown = list(itertools.accumulate(weights[0::2]))

    def statement(self, e: Entity, *, shouted: bool = False, asked: bool = False) -> list[str]:
        """The fact about `e`, its object coded when `shouted`, the ``the`` before the object ``?`` when `asked`."""
        verb, obj = self.facts[e]
        return ["the", *e, verb, "?" if asked else "the", self.code[obj] if shouted else obj, "."]

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
        return self._facts(rng)

    def task(self) -> TaskSpec:
        return super().task() if self.config.task == "kv-recall" else self._fact_task(self.config.task)

    def task_entities(self) -> tuple[list[Entity], list[Entity]]:
        """(test entities, finetuning entities): the held-out entities in `test_band`, split in two random halves."""
        lo, hi = self.config.test_band
        n = len(self.held_out)
        band = list(self.held_out[int(lo * n): max(int(hi * n), int(lo * n) + 2)])
        random.Random(f"quiz-split:{self.config.seed}").shuffle(band)
        half = len(band) // 2
        return band[:half], band[half:]

    def _fact_example(self, kind: str, e: Entity, rng: random.Random) -> Example:
        """One question about `e` in the register of `kind`; the choices are the answer and `n_choices - 1`
        other nouns (as code words for fact-code), in random order."""
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
        """Each test entity is asked once before any repeats; finetuning examples are about the other half."""
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
