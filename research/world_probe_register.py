"""Probe the register worlds: facts whose answer form must be read from the prompt, and what finetuning does.

    python research/world_probe_register.py --variant mark --frac 0.02 --seed 0 \
        --finetune-at 189 333 508 --amounts 8 32 128 512 2048 --lrs 1e-4 1e-3 --out mark.json --md mark.md

A test of the issue's hypothesis (knowledge that pretraining builds smoothly, plus a format skill that
forms late and abruptly, which finetuning might teach in a few steps). `--frac` of the pretraining
documents are facts of the *shown* half of the entities written in a second register, with no header:
the register can only be read from the document's earlier facts.

* ``code``: every object is its code word (``the calm white koi takes the APE .``);
* ``mark``: every object is preceded by ``:`` (``the calm white koi takes the : ape .``), so the
  answer keeps the noun the model already knows.

The task asks the held-out half's facts (the fact-code test entities) with 4 demonstrations in the
register, as 8-way multiple choice: the answer's noun and 3 other nouns, each in both registers
(chance 1/8). A model that knows the fact but does not read the register picks the plain noun and
scores 0. Per checkpoint: `fewshot` (that task, 4-shot), `in_register` (the same prompts with only the
4 register-form choices: the knowledge inside the register) and `cloze` (plain question, plain nouns,
zero-shot: the knowledge). Then full finetuning of the chosen checkpoints (by step) on each amount at
each learning rate (in the few-shot format, as the demo does) and the 8-way test accuracy.

In-process and without the study store, like `research/world_probe.py`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

VARIANTS: tuple[str, ...] = ("code", "mark")


def register_world(variant: str, frac: float, seed: int, **fields):
    """A `MicroWorld` (task fact-code, its shouted documents replaced) whose `frac` of documents are
    header-less facts of the shown half in register `variant`; `fields`: other `WorldConfig` fields."""
    from fact_worlds import FactWorld as MicroWorld
    from fact_worlds import FactWorldConfig as WorldConfig

    if variant not in VARIANTS:
        raise ValueError(f"variant {variant!r} is unknown; use one of {', '.join(VARIANTS)}")

    class RegisterWorld(MicroWorld):
        def _shouted(self, rng, *, asked=False):
            out: list[str] = []
            for _ in range(rng.randint(*self.config.code_facts)):
                e = rng.choices(self.shown, cum_weights=self._cum_shown)[0]
                out += in_register(self, self.statement(e), variant)
            return out

    fields = {"code_facts": (2, 4), "n_test": 400, **fields}
    return RegisterWorld(WorldConfig(task="fact-code", code_frac=frac, seed=seed, **fields))


def _form(noun: str, variant: str, world) -> str:
    """`noun` as register `variant` writes it (``APE`` or ``: ape``)."""
    return world.code[noun] if variant == "code" else f": {noun}"


def in_register(world, statement: list[str], variant: str) -> list[str]:
    """A plain statement (``the A C N verb the OBJ .``) in register `variant`."""
    *head, obj, stop = statement
    return [*head, *_form(obj, variant, world).split(), stop]


def register_tasks(world, variant: str):
    """(the 8-way task, the 4-way in-register task, the plain cloze task), all on the world's fact-code
    questions (held-out entities; prompt ``the A C N verb the``). Choice order is seeded."""
    from emergence_laws.tasks.spec import Example

    base = world.task()
    base = replace(base, name=f"register-{variant}", metadata={**base.metadata, "description": ""})
    rng = random.Random(f"register:{world.config.seed}")
    nouns_of = {world.code[n]: n for n in world.nouns}

    def eight(ex):
        nouns = [nouns_of[c] for c in ex.choices]
        obj = nouns[ex.answer]
        choices = [_form(n, variant, world) for n in nouns] + nouns
        rng.shuffle(choices)
        return Example(prompt=ex.prompt, choices=tuple(choices), answer=choices.index(_form(obj, variant, world)))

    def four(ex, plain: bool):
        nouns = [nouns_of[c] for c in ex.choices]
        return Example(prompt=ex.prompt, choices=tuple(n if plain else _form(n, variant, world) for n in nouns),
                       answer=ex.answer)

    task = replace(base, train=tuple(eight(e) for e in base.train), test=tuple(eight(e) for e in base.test))
    inside = replace(task, name=f"{task.name}-in-register", test=tuple(four(e, False) for e in base.test))
    cloze = replace(base, name="cloze", train=(), test=tuple(four(e, True) for e in base.test))
    return task, inside, cloze


def markdown(res: dict, command: str) -> str:
    lines = [f"### {res['variant']} register in {100 * res['frac']:g}% of documents, seed {res['seed']}", "",
             f"`{command}`", "", f"Ladder: {res['ladder_seconds']:.0f} s.", "",
             "| step | loss (nats) | few-shot (8-way) | in register (4-way) | cloze (4-way) |", "|---|---|---|---|---|"]
    for r in res["curve"]:
        lines.append(f"| {r['step']} | {r['loss']:.4f} | {r['fewshot']:.3f} | {r['in_register']:.3f} | "
                     f"{r['cloze']:.3f} |")
    if res["finetuned"]:
        amounts = sorted({int(n) for r in res["finetuned"] for n in r["accuracy"]})
        lines += ["", "Full finetuning, 8-way test accuracy (chance 0.125; 0 = the plain noun chosen):", "",
                  "| step | lr | " + " | ".join(f"n={n}" for n in amounts) + " |", "|---|---|" + "---|" * len(amounts)]
        for r in res["finetuned"]:
            cells = " | ".join(f"{r['accuracy'][str(n)]:.3f}" for n in amounts)
            lines.append(f"| {r['step']} | {r['lr']:g} | {cells} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", choices=VARIANTS, default="mark")
    ap.add_argument("--frac", type=float, default=0.02, help="share of documents in the register")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--world", default="{}", help="other WorldConfig fields as JSON (n_test, n_train, ...)")
    ap.add_argument("--ladder", default='{"steps": 2400, "checkpoints": 30, "first_checkpoint": 40, "spacing": "log"}',
                    help="LadderConfig fields as JSON")
    ap.add_argument("--finetune-at", type=int, nargs="*", default=[], help="checkpoint steps to finetune")
    ap.add_argument("--amounts", type=int, nargs="*", default=[8, 32, 128, 512, 2048])
    ap.add_argument("--lrs", type=float, nargs="*", default=[1e-4, 1e-3])
    ap.add_argument("--min-step", type=int, default=100, help="evaluate checkpoints from this step on")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the CPUs this process may use)")
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "emergence-laws" / "probe-register"))
    ap.add_argument("--out", required=True, help="the results (JSON)")
    ap.add_argument("--md", default=None, help="also write the results as markdown to this file")
    args = ap.parse_args()
    if min(args.amounts, default=8) < 5:
        ap.error("--amounts must be >= 5: each finetuning prompt has 4 demonstrations drawn from the other examples")

    from transformers.utils import logging as hf_logging

    from emergence_laws.evaluation import evaluate_task
    from emergence_laws.finetuning import FinetuneConfig, finetune
    from emergence_laws.micro.pretrain import LadderConfig, pretrain_ladder
    from emergence_laws.models import load_model
    from emergence_laws.models.loss import pretraining_loss
    from emergence_laws.threads import resolve_threads, set_torch_threads

    hf_logging.disable_progress_bar()
    threads = set_torch_threads(resolve_threads(args.threads))
    world = register_world(args.variant, args.frac, args.seed, **json.loads(args.world))
    lc = LadderConfig(**{**json.loads(args.ladder), "seed": args.seed, "threads": threads})
    blob = json.dumps({"variant": args.variant, "world": world.config.to_dict(), "ladder": lc.to_dict()}, sort_keys=True)
    folder = Path(args.cache) / f"{args.variant}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"
    t0 = time.perf_counter()
    if not (folder / "ladder.json").exists():
        pretrain_ladder(world, lc, folder)
    ladder = json.loads((folder / "ladder.json").read_text())
    task, inside, cloze = register_tasks(world, args.variant)
    ref = world.reference_text()

    res = {"variant": args.variant, "frac": args.frac, "seed": args.seed, "world": world.config.to_dict(),
           "ladder": lc.to_dict(),
           "ladder_seconds": ladder.get("seconds", time.perf_counter() - t0), "curve": [], "finetuned": []}
    def acc(model, tok, t, shots: int) -> float:
        return evaluate_task(model, tok, t, shots=shots, batch_size=64).metrics["accuracy"]

    for r in ladder["checkpoints"]:
        if r["step"] < args.min_step:
            continue
        m, tok = load_model(r["path"], device="cpu", dtype="float32")
        row = {"step": r["step"], "loss": pretraining_loss(m, tok, ref, seq_len=lc.seq_len),
               "fewshot": acc(m, tok, task, 4),
               "in_register": acc(m, tok, inside, 4), "cloze": acc(m, tok, cloze, 0)}
        res["curve"].append(row)
        print(json.dumps(row), flush=True)
    for step in args.finetune_at:
        m, tok = load_model(str(folder / f"step{step}"), device="cpu", dtype="float32")
        for lr in args.lrs:
            row = {"step": step, "lr": lr, "accuracy": {}}
            for n in args.amounts:
                examples = random.Random(n).sample(task.train, n)
                cfg = FinetuneConfig(seed=0, train_shots=4, lr=lr, epochs=4, batch_size=16)
                tuned = finetune(m, tok, task, examples, cfg)
                row["accuracy"][str(n)] = acc(tuned, tok, task, 4)
            res["finetuned"].append(row)
            print(json.dumps(row), flush=True)
    command = "python research/world_probe_register.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    res["command"] = command
    Path(args.out).write_text(json.dumps(res, indent=1))
    if args.md:
        Path(args.md).write_text(markdown(res, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
