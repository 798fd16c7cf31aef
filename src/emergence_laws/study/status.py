"""The grid's state: for each checkpoint, done/total jobs per cell (measure, k=shots, n=n_train)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emergence_laws.study.config import StudyConfig
from emergence_laws.study.grid import Grid, build_grid
from emergence_laws.study.measures import MeasureCache


@dataclass
class GridStatus:
    """Per-checkpoint × cell counts of finished and total jobs."""

    study: str
    store: str
    columns: list[str]
    cells: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)  # model -> cell -> (done, total)
    done: int = 0
    total: int = 0
    rows: int = 0

    @property
    def pending(self) -> int:
        return self.total - self.done

    def to_dict(self) -> dict[str, Any]:
        return {"study": self.study, "store": self.store, "done": self.done, "total": self.total,
                "pending": self.pending, "rows": self.rows,
                "grid": {m: {c: {"done": d, "total": t} for c, (d, t) in cells.items()}
                         for m, cells in self.cells.items()}}

    def format(self) -> str:
        """A plain-text table: rows = checkpoints, columns = cells, entries 'done/total'."""
        head = ["model", *self.columns]
        body = []
        for model, cells in self.cells.items():
            body.append([model] + [(f"{cells[c][0]}/{cells[c][1]}" if c in cells else "-") for c in self.columns])
        widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]

        def line(r: list[str]) -> str:
            return "  ".join(s.ljust(w) if i == 0 else s.rjust(w) for i, (s, w) in enumerate(zip(r, widths)))

        pct = 100.0 * self.done / self.total if self.total else 100.0
        out = [(f"study {self.study}: {self.done}/{self.total} jobs done ({pct:.0f}%), {self.pending} pending; "
                f"{self.rows} result rows in {self.store}"),
               ("columns: measure = params + pretraining loss; k=S = few-shot with S shots (all seeds); "
                "n=D = finetuned on D examples (all seeds)"), line(head)]
        out += [line(r) for r in body]
        return "\n".join(out)


def grid_status(cfg: StudyConfig, *, store: str | Path | None = None, grid: Grid | None = None) -> GridStatus:
    """Compare the study's grid with what its store holds (the store may not exist yet)."""
    path = Path(store) if store is not None else cfg.store_path
    grid = grid or build_grid(cfg)
    eval_done: set[str] = set()
    measure_done: set[str] = set()
    rows = 0
    if path.exists():
        from emergence_laws.results import ResultsStore

        with ResultsStore(path, create=False) as st:
            eval_done = st.run_keys()
            rows = len(st)
        cache = MeasureCache(path, create=False)
        measure_done = cache.keys()
        cache.close()
    columns: list[str] = []
    for job in grid:
        if job.cell not in columns:
            columns.append(job.cell)
    status = GridStatus(study=cfg.name, store=str(path), columns=columns)
    for job in grid:
        cells = status.cells.setdefault(job.checkpoint.model_id, {})
        d, t = cells.get(job.cell, (0, 0))
        finished = job.key in (measure_done if job.kind == "measure" else eval_done)
        cells[job.cell] = (d + int(finished), t + 1)
        status.done += int(finished)
        status.total += 1
    status.rows = rows
    return status
