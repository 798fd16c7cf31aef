"""Which rows of a results table a table-level analysis works on: one task, and one metric of it.

    select_task(df, task=None) -> (rows, task)
    select_task_metric(df, task=None, metric=None) -> (rows, task, metric, notes)

A task or metric left None is inferred when the table holds one (a metric by the registry's
preference, :data:`emergence_laws.metrics.PREFERENCE`, with a note); else the error says which
there are. Used by the fit, backtest and baseline of :mod:`~emergence_laws.analysis.table_fit` and by
:mod:`~emergence_laws.analysis.table_compare`.
"""

from __future__ import annotations

from emergence_laws.analysis.series import split_columns
from emergence_laws.errors import InputError
from emergence_laws.metrics import PREFERENCE

#: Columns every analysis needs.
REQUIRED: tuple[str, ...] = ("task", "metric", "value", "n_train")


def _listed(names: list[str], limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (" ..." if len(names) > limit else "")


def select_task(df, task: str | None = None):
    """The rows of one task (the table's only one when ``task`` is None) and its name.

    Raises:
        InputError: a required column is missing, the table holds several tasks and none is named,
            or the named task is not in the table.
    """
    for col in REQUIRED:
        if col not in df.columns:
            raise InputError(f"results table has no '{col}' column; see the results-table columns in the docs")
    tasks = sorted(map(str, df["task"].dropna().unique()))
    if task is None:
        if len(tasks) != 1:
            raise InputError(f"the table has {len(tasks)} tasks ({_listed(tasks)}); choose one with `task`")
        task = tasks[0]
    elif task not in tasks:
        raise InputError(f"task {task!r} is not in the table; its tasks are: {_listed(tasks)}")
    return df[df["task"].astype(str) == task], task


def select_task_metric(df, task: str | None = None, metric: str | None = None):
    """The rows of one task and metric: ``(rows, task, metric, notes)``.

    Raises:
        InputError: as :func:`select_task`; the task has several metrics the registry does not rank and
            none is named; the named metric is not the task's; rows of one checkpoint differ in another
            column (two formats of a task, say: fit one at a time).
    """
    rows, task = select_task(df, task)
    notes: list[str] = []
    metrics = sorted(map(str, rows["metric"].dropna().unique()))
    if metric is None:
        if len(metrics) == 1:
            metric = metrics[0]
        else:
            pref = [m for m in PREFERENCE if m in metrics]
            if not pref:
                raise InputError(f"task {task!r} has metrics {', '.join(metrics)}; choose one with `metric`")
            metric = pref[0]
            notes.append(f"task {task!r} has metrics {', '.join(metrics)}; using {metric!r} (choose with `metric`)")
    elif metric not in metrics:
        raise InputError(f"metric {metric!r} not found for task {task!r}; its metrics are: {', '.join(metrics)}")
    rows = rows[rows["metric"].astype(str) == metric]
    for col in split_columns(rows):
        values = sorted(map(str, rows[col].dropna().unique()))
        raise InputError(
            f"task {task!r} ({metric}) has rows for the same checkpoint that differ in column {col!r} "
            f"({', '.join(values[:6])}); fit one at a time, e.g. on the rows with `{col} == {values[0]!r}`"
        )
    return rows, task, metric, notes
