"""Is fact-ask's knowledge one embedding away from the format, and can finetuning get there?

    python research/world_probe_format.py --ladder DIR --steps 189 289 [--amounts 32 256 2048]

DIR is a fact-ask ladder made by `research/world_probe.py` (its cache folder holding ladder.json). For
each checkpoint step it prints three measurements of the asked form `... takes ?`:

- `swap`: 4-shot task accuracy after copying the input embedding of `the` onto `?` (no training), next
  to the task and the cloze as they are. If `swap` reaches the cloze, reading `?` is one vector away.
- `path`: the finetuning loss (answer cross-entropy, nats/token, 4-shot prompts as the demo trains on,
  the first 256 training questions) with the `?` embedding moved along the straight line to `the`'s at
  0, 1/4, ..., 1: whether gradient descent from `?` runs downhill to that vector or over a barrier.
- `row`: test and own-question accuracy after finetuning *only* the `?` embedding (64 numbers at the
  demo's size; Adam lr 1e-2, 4 epochs, batch 16) on each amount: the most format-only finetuning there is.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from world_probe import cloze_task, own_questions_task  # noqa: E402


def _with_row(model, ids, q: int, row):
    """Input embeddings of `ids` with every `q` token's embedding replaced by `row`."""
    import torch

    emb = model.get_input_embeddings()(ids)
    return torch.where((ids == q)[..., None], row, emb)


def _loss(model, data, q: int, row) -> float:
    import torch

    from emergence_laws.finetuning.train import answer_loss

    with torch.no_grad():
        return sum(answer_loss(model(inputs_embeds=_with_row(model, torch.tensor([i]), q, row)).logits,
                               torch.tensor([lab])).item() for i, lab in data) / len(data)


def _train_row(model, data, q: int, *, lr: float = 1e-2, epochs: int = 4, batch: int = 16, seed: int = 0):
    """Adam on the `?` embedding alone; returns the trained row."""
    import torch

    from emergence_laws.finetuning.train import answer_loss

    gen = torch.Generator().manual_seed(seed)
    row = torch.nn.Parameter(model.get_input_embeddings().weight[q].detach().clone())
    opt = torch.optim.Adam([row], lr=lr)
    for _ in range(epochs):
        order = torch.randperm(len(data), generator=gen).tolist()
        for b in range(0, len(order), batch):
            chunk = order[b:b + batch]
            opt.zero_grad()
            loss = sum(answer_loss(model(inputs_embeds=_with_row(model, torch.tensor([data[i][0]]), q, row)).logits,
                                   torch.tensor([data[i][1]])) for i in chunk) / len(chunk)
            loss.backward()
            opt.step()
    return row.detach()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ladder", required=True, help="a fact-ask ladder folder (with ladder.json)")
    ap.add_argument("--steps", type=int, nargs="+", required=True, help="checkpoint steps to probe")
    ap.add_argument("--amounts", type=int, nargs="*", default=[32, 256, 2048], help="amounts for `row`")
    args = ap.parse_args()

    import torch
    from transformers.utils import logging as hf_logging

    from emergence_laws.evaluation import evaluate_task
    from emergence_laws.finetuning.training_data import tokenize_examples
    from fact_worlds import FactWorld as MicroWorld
    from fact_worlds import FactWorldConfig as WorldConfig
    from emergence_laws.models import load_model

    hf_logging.disable_progress_bar()
    if not (Path(args.ladder) / "ladder.json").is_file():
        print(f"error: {args.ladder} holds no ladder.json (give a ladder folder made by research/world_probe.py)",
              file=sys.stderr)
        return 2
    lad = json.loads((Path(args.ladder) / "ladder.json").read_text())
    world = MicroWorld(WorldConfig(**lad["world"]))
    if world.config.task != "fact-ask":
        print(f"error: {args.ladder} is a {world.config.task} ladder; this probe reads fact-ask's `?`", file=sys.stderr)
        return 2
    task = world.task()
    cloze = cloze_task(world, task)
    by_step = {r["step"]: r for r in lad["checkpoints"]}
    missing = [s for s in args.steps if s not in by_step]
    if missing:
        print(f"error: no checkpoint at step(s) {missing}; the ladder has {sorted(by_step)}", file=sys.stderr)
        return 2
    for step in args.steps:
        model, tok = load_model(by_step[step]["path"], device="cpu", dtype="float32")
        for p in model.parameters():
            p.requires_grad_(False)

        def acc(t, m=model) -> float:
            return evaluate_task(m, tok, t, shots=4 if t is not cloze else 0, batch_size=64).metrics["accuracy"]

        q, the = tok.convert_tokens_to_ids("?"), tok.convert_tokens_to_ids("the")
        E = model.get_input_embeddings().weight
        e_q, e_the = E[q].detach().clone(), E[the].detach().clone()
        fewshot, cz = acc(task), acc(cloze)
        with torch.no_grad():
            E[q] = e_the
        swap = acc(task)
        with torch.no_grad():
            E[q] = e_q
        data = tokenize_examples(tok, task, task.train[:256], append_eos=False, shots=4, seed=0)
        path = [_loss(model, data, q, (1 - a) * e_q + a * e_the) for a in (0.0, 0.25, 0.5, 0.75, 1.0)]
        print(json.dumps({"step": step, "fewshot": round(fewshot, 3), "cloze": round(cz, 3), "swap": round(swap, 3),
                          "path": [round(x, 3) for x in path]}), flush=True)
        for n in args.amounts:
            examples = task.train[:n]
            row = _train_row(model, tokenize_examples(tok, task, examples, append_eos=False, shots=4, seed=0), q)
            with torch.no_grad():
                E[q] = row
            print(json.dumps({"step": step, "row_n": n, "test": round(acc(task), 3),
                              "own": round(acc(own_questions_task(task, examples)), 3)}), flush=True)
            with torch.no_grad():
                E[q] = e_q
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
