"""research/fact_worlds.py: the fact registers and tasks of the probes' worlds."""

from __future__ import annotations

import pandas as pd
import pytest
from fact_worlds import FactWorld as MicroWorld
from fact_worlds import FactWorldConfig as WorldConfig


def _documents(world: MicroWorld, kind: str, n_tokens: int = 60_000) -> list[str]:
    return [d.strip() for d in " ".join(world.corpus_words(n_tokens)).split("\n") if d.strip().startswith(kind)]


def test_fact_code_asks_held_out_facts_in_the_shouted_register():
    world = MicroWorld(WorldConfig(seed=1, code_frac=0.01, n_test=100, n_train=300))
    task = world.task()
    assert task.name == "fact-code" and task.metadata["description"] == "shout : "
    test_ents, train_ents = world.task_entities()
    assert not set(test_ents) & set(train_ents)
    shouted = _documents(world, "shout")
    assert len(shouted) > 10  # shouted documents exist, at about code_frac of the documents
    stated = {tuple(f.split()[1:4]) for d in shouted for f in d.split(":", 1)[1].split(".") if f.strip()}
    assert stated and not stated & set(world.held_out)  # the task's entities are never shouted in the corpus
    assert all(w.isupper() for d in shouted for f in d.split(":", 1)[1].split(".") if f.strip()
               for w in [f.split()[-1]])  # objects are code words
    for split, ents in ((task.test, test_ents), (task.train, train_ents)):
        for ex in split:
            words = ex.prompt.split()
            ent = tuple(words[1:4])
            assert words[0] == "the" and words[-1] == "the" and ent in ents
            verb, obj = world.facts[ent]
            assert words[4] == verb and ex.choices[ex.answer] == obj.upper()  # the answer is the coded fact
            assert len(ex.choices) == 4 and len(set(ex.choices)) == 4 and all(c.isupper() for c in ex.choices)
    # each test entity once before any repeats; answers spread over the four positions (chance 1/4)
    assert len({ex.prompt for ex in task.test}) == min(len(test_ents), len(task.test))
    positions = pd.Series([ex.answer for ex in task.test]).value_counts()
    assert len(positions) == 4 and positions.min() >= 10


def test_fact_ask_asks_held_out_facts_with_the_one_token_the_corpus_shows_only_for_the_shown_half():
    world = MicroWorld(WorldConfig(seed=2, task="fact-ask", code_frac=0.0, ask_frac=0.02, n_test=60, n_train=80))
    task = world.task()
    assert task.name == "fact-ask" and task.metadata["description"] == ""
    docs = [d.strip() for d in " ".join(world.corpus_words(60_000)).split("\n") if " ? " in f" {d} "]
    assert len(docs) > 10  # asked documents exist, at about ask_frac of the documents
    facts = [f.split() for d in docs for f in d.split(".") if f.strip()]
    assert all(f[0] == "the" and f[5] == "?" and world.facts[tuple(f[1:4])] == (f[4], f[6]) for f in facts)
    assert not {tuple(f[1:4]) for f in facts} & set(world.held_out)  # the task's entities are never asked
    test_ents, train_ents = world.task_entities()
    assert not set(test_ents) & set(train_ents)
    for split, ents in ((task.test, test_ents), (task.train, train_ents)):
        for ex in split:
            words = ex.prompt.split()
            assert words[0] == "the" and words[-1] == "?" and tuple(words[1:4]) in ents
            assert world.facts[tuple(words[1:4])] == (words[4], ex.choices[ex.answer])
            assert len(set(ex.choices)) == 4 and all(c in world.nouns for c in ex.choices)


def test_fact_quiz_is_kept_for_the_sweep():
    world = MicroWorld(WorldConfig(seed=1, task="fact-quiz", code_frac=0.0, quiz_frac=0.05, n_test=50, n_train=50))
    task = world.task()
    asked = {tuple(line.split()[:3]) for q in _documents(world, "quiz")
             for line in q.replace("quiz", "").split(";") if line.strip()}
    assert asked and not asked & set(world.held_out)  # the task's entities are never quizzed in the corpus
    for ex in task.test:
        words = ex.prompt.split()
        assert words[0] == "quiz" and words[-1] == "?"
        assert world.facts[tuple(words[1:4])] == (words[4], ex.choices[ex.answer])



def test_fact_world_config_refuses_nonsense():
    from emergence_laws.errors import ConfigError

    for bad in ({"task": "nope"}, {"quiz_frac": 0.7, "record_frac": 0.5}, {"code_frac": -0.1}, {"ask_frac": -0.01},
                {"test_band": (0.5, 0.2)}):
        with pytest.raises(ConfigError):
            WorldConfig(**bad)
