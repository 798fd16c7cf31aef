"""Probe a candidate micro world fast: its few-shot curve, its knowledge, and what finetuning does.

    python scripts/world_probe.py --world '{"task": "fact-code", "code_frac": 0.0001}' \
        --ladder '{"steps": 3000, "checkpoints": 30, "first_checkpoint": 40, "spacing": "log"}' \
        --finetune-at 13 17 21 --amounts 32 128 512 2048 --out probe.json

Pretrains a ladder (cached in --cache by config), then for every checkpoint: pretraining loss (nats/
token), few-shot and zero-shot accuracy, and — for the fact tasks — cloze accuracy (the same questions
answered with the plain noun: the knowledge the format hides). For fact-code also `in_format`: the
few-shot prompts as they are (shouted demonstrations, shouted question) with the plain nouns as the
choices, i.e. whether the knowledge is still there inside the format. Then finetunes the checkpoints
given by index on each amount (in the few-shot format, as the demo does) and evaluates each finetuned
model on the test questions (`test`) and on up to 400 of its own finetuning questions (`train`, with
demonstrations drawn from the test pool, so no demonstration is about the asked entity): a model that
scores high on `train` and at chance on `test` memorised its finetuning entities instead of learning
the format. In-process and without the study store: for exploring worlds before a demo design is fixed;
`scripts/world_sweep.py` measures candidates through the demo's own pipeline.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path


def cloze_task(world, task):
    """The fact task's questions with plain nouns as choices and no register marker (fact tasks only)."""
    from emergence_laws.tasks.spec import Example

    def plain(ex):
        words = ex.prompt.split()
        if words[0] == "quiz":  # fact-quiz: quiz A C N verb ?
            words = ["the", *words[1:-1], "the"]
        elif words[-1] == "?":  # fact-ask: the A C N verb ?
            words = [*words[:-1], "the"]
        return Example(prompt=" ".join(words), choices=tuple(c.lower() for c in ex.choices), answer=ex.answer)

    return replace(task, name=task.name + "-cloze", test=tuple(plain(e) for e in task.test),
                   metadata={**task.metadata, "description": ""})


def in_format_task(task):
    """fact-code's few-shot prompts unchanged (shouted demonstrations and question) with the plain nouns as
    the choices: the knowledge inside the format, before the code words are learned."""
    from emergence_laws.tasks.spec import Example

    return replace(task, name=task.name + "-in-format",
                   test=tuple(Example(prompt=e.prompt, choices=tuple(c.lower() for c in e.choices), answer=e.answer)
                              for e in task.test))


def own_questions_task(task, examples):
    """`examples` (finetuning questions) as the test split, demonstrations drawn from the test pool: the
    train and test entities are disjoint, so no demonstration states the asked fact."""
    return replace(task, name=task.name + "-own", train=task.test, test=tuple(examples[:400]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", default="{}", help="WorldConfig fields as JSON")
    ap.add_argument("--ladder", default="{}", help="LadderConfig fields as JSON")
    ap.add_argument("--shots", type=int, default=4)
    ap.add_argument("--finetune-at", type=int, nargs="*", default=[], help="checkpoint indices to finetune")
    ap.add_argument("--amounts", type=int, nargs="*", default=[32, 128, 512, 2048])
    ap.add_argument("--finetune", default='{"lr": 3e-4, "epochs": 3, "batch_size": 16}',
                    help="FinetuneConfig fields as JSON, or a JSON list of them (each run on every amount; results under "
                         "the method's name, with the lr when two settings share a method)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "emergence-laws" / "probe"))
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    from transformers.utils import logging as hf_logging

    from emergence_laws.evaluation import evaluate_task
    from emergence_laws.finetuning import FinetuneConfig, finetune
    from emergence_laws.micro.pretrain import LadderConfig, pretrain_ladder
    from emergence_laws.micro.world import MicroWorld, WorldConfig
    from emergence_laws.models import load_model
    from emergence_laws.models.loss import pretraining_loss
    from emergence_laws.threads import resolve_threads, set_torch_threads

    hf_logging.disable_progress_bar()
    threads = set_torch_threads(resolve_threads(args.threads))
    world = MicroWorld(WorldConfig(**json.loads(args.world)))
    lcfg = LadderConfig(**{**json.loads(args.ladder), "threads": threads})
    key = hashlib.sha256(json.dumps([world.config.to_dict(), lcfg.to_dict()], sort_keys=True).encode()).hexdigest()[:12]
    folder = Path(args.cache) / key
    t0 = time.perf_counter()
    if not (folder / "ladder.json").exists():
        pretrain_ladder(world, lcfg, folder)
    ladder = json.loads((folder / "ladder.json").read_text())["checkpoints"]
    print(f"ladder {folder} ({time.perf_counter() - t0:.0f} s)", flush=True)
    task, ref = world.task(), world.reference_text()
    cloze = cloze_task(world, task) if world.config.task != "kv-recall" else None
    in_format = in_format_task(task) if world.config.task == "fact-code" else None
    out = {"world": world.config.to_dict(), "ladder": lcfg.to_dict(), "shots": args.shots, "rows": []}
    for rec in ladder:
        model, tok = load_model(rec["path"], device="cpu", dtype="float32")
        row = {"step": rec["step"], "flops": 6.0 * rec["params"] * rec["tokens"],
               "loss": pretraining_loss(model, tok, ref, seq_len=lcfg.seq_len),
               "fewshot": evaluate_task(model, tok, task, shots=args.shots, batch_size=64).metrics["accuracy"],
               "zeroshot": evaluate_task(model, tok, task, shots=0, batch_size=64).metrics["accuracy"],
               "finetuned": {}}
        if cloze is not None:
            row["cloze"] = evaluate_task(model, tok, cloze, shots=0, batch_size=64).metrics["accuracy"]
        if in_format is not None:
            row["in_format"] = evaluate_task(model, tok, in_format, shots=args.shots, batch_size=64).metrics["accuracy"]
        out["rows"].append(row)
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()
                          if k != "finetuned"}), flush=True)
    ft = json.loads(args.finetune)
    settings = ft if isinstance(ft, list) else [ft]  # several: results under each one's method name
    for i in args.finetune_at:
        model, tok = load_model(ladder[i]["path"], device="cpu", dtype="float32")
        for kw in settings:
            label = kw.get("method", "full")
            if sum(k.get("method", "full") == label for k in settings) > 1:  # two settings of one method
                label += f" lr {kw.get('lr', 'default')}"
            for n in args.amounts:
                tuned = finetune(model, tok, task, task.train[:n], FinetuneConfig(seed=0, shots=args.shots, **kw))
                acc = evaluate_task(tuned, tok, task, shots=args.shots, batch_size=64).metrics["accuracy"]
                own = evaluate_task(tuned, tok, own_questions_task(task, task.train[:n]), shots=args.shots,
                                    batch_size=64).metrics["accuracy"]
                cell = out["rows"][i]["finetuned"]
                (cell.setdefault(label, {}) if len(settings) > 1 else cell)[n] = {"test": acc, "train": own}
                print(f"finetuned ({label}) step {ladder[i]['step']} n={n}: accuracy {acc:.3f} (own finetuning "
                      f"questions {own:.3f})", flush=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
