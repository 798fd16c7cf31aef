"""lm-evaluation-harness task YAML (the common subset) over local JSON/JSONL files → `TaskSpec`.

Supported keys: task, include, dataset_path (json) + dataset_kwargs.data_files (or data_files),
test_split / validation_split / training_split / fewshot_split, output_type (multiple_choice |
generate_until), doc_to_text / doc_to_target / doc_to_choice (field names, Jinja templates, or a
list of choices), target_delimiter, fewshot_delimiter, description, generation_kwargs.until,
num_fewshot, metric_list (kept as metadata), filter_list (regex / take_first / remove_whitespace /
lowercase answer extraction of generation tasks, see `tasks.extract`). `!function` hooks (Python code)
are not supported. Field/template rules follow lm-eval's `ConfigurableTask` so prompts are identical.
A task file is data, never code: templates render in jinja2's immutable sandbox, and
`read_lmeval_source` reads and checks a file without rendering any template (what `emergence status`
and `--dry-run` use).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from emergence_laws.errors import InputError
from emergence_laws.tasks.extract import from_lmeval_filter_list
from emergence_laws.tasks.jsonl import read_json_rows
from emergence_laws.tasks.spec import Example, TaskSpec


class _FunctionTag:
    def __init__(self, value: str) -> None:
        self.value = value


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!function", lambda loader, node: _FunctionTag(loader.construct_scalar(node)))


def _jinja_env():
    """lm-eval's template environment, sandboxed and budgeted: task files are data, never code.

    jinja2's immutable sandbox refuses attribute access to internals (``__class__``,
    ``__globals__``, ...) and calls that mutate (``list.append``), so a template cannot reach the
    interpreter or the shell; `tasks.template_budget` caps what one render may cost (time, steps,
    sizes, memory), so one cannot exhaust memory or CPU either.
    """
    from emergence_laws.tasks.template_budget import task_template_env

    return task_template_env()


def read_yaml_config(path: Path, _seen: tuple[Path, ...] = ()) -> dict:
    """The YAML mapping, with `include:` files merged underneath (relative to the including file)."""
    from emergence_laws.paths import read_text
    from emergence_laws.yamlio import load_yaml

    text = read_text(path, "task YAML", "check the path (an lm-eval task YAML over local JSON/JSONL files)")
    cfg = load_yaml(text, str(path), loader=_Loader)
    if not isinstance(cfg, dict):
        raise InputError(f"{path}: expected a YAML mapping of lm-eval task keys")
    if "include" in cfg:
        inc = (path.parent / str(cfg.pop("include"))).resolve()
        if inc in _seen or inc == path.resolve():
            raise InputError(f"{path}: include {inc.name} includes itself (a cycle); remove the loop")
        base = read_yaml_config(inc, (*_seen, path.resolve()))
        base.update(cfg)
        cfg = base
    for key, val in cfg.items():
        if isinstance(val, _FunctionTag):
            raise InputError(f"{path}: key {key!r} uses '!function {val.value}', which is not supported; "
                             "use a field name or a Jinja template")
    return cfg


def _data_files(cfg: dict, path: Path) -> dict[str, Path]:
    dataset_path = cfg.get("dataset_path")
    kwargs = cfg.get("dataset_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise InputError(f"{path}: dataset_kwargs must be a mapping, e.g. {{data_files: {{test: FILE.jsonl}}}}")
    files = kwargs.get("data_files", cfg.get("data_files"))
    if dataset_path not in ("json", None) or files is None:
        raise InputError(f"{path}: dataset_path {dataset_path!r} is not a local file; set 'dataset_path: json' and "
                         "'dataset_kwargs: {data_files: {test: FILE.jsonl, train: FILE.jsonl}}' (no hub downloads)")
    if isinstance(files, (str, list)):
        files = {"train": files}
    if not isinstance(files, dict):
        raise InputError(f"{path}: data_files must map splits to files, e.g. {{test: FILE.jsonl, train: FILE.jsonl}}")
    out = {}
    for split, f in files.items():
        if isinstance(f, list):
            if len(f) != 1:
                raise InputError(f"{path}: data_files.{split} lists {len(f)} files; give one file per split")
            f = f[0]
        p = Path(str(f)).expanduser()
        if not p.is_absolute():
            p = (path.parent / p) if (path.parent / p).exists() else p.resolve()
        out[str(split)] = p
    return out


class _DocRenderer:
    """lm-eval's doc_to_text / doc_to_target / doc_to_choice semantics for one config."""

    def __init__(self, cfg: dict, path: Path) -> None:
        self.cfg, self.path, self.env = cfg, path, _jinja_env()
        self.has_choice = cfg.get("doc_to_choice") is not None
        self._compiled: dict[str, Any] = {}  # template source -> compiled template (compiled once)

    def _render(self, field: str, template: str, doc: dict, where: str) -> str:
        """``template`` rendered on one row (``where``: its file and line) under the template budget."""
        from jinja2.exceptions import SecurityError

        from emergence_laws.tasks import template_budget as tb

        head, row = f"{self.path}: {field} template", f"row {self._row(where)}"  # file + field name the template
        try:
            compiled = self._compiled.get(template)
            if compiled is None:
                compiled = self._compiled[template] = tb.BudgetedTemplate(self.env, template)
            return compiled.render(doc)
        except tb.TemplateBudgetError as exc:
            raise InputError(f"{head} goes over its render budget: {exc}; simplify it ({row}; the limits: "
                             "docs/guide/security.md)") from None
        except SecurityError as exc:
            raise InputError(f"{head} is refused ({_short(str(exc), 100)}); task templates run sandboxed: use field "
                             f"names, filters and plain expressions ({row})") from None
        except RecursionError:
            raise InputError(f"{head} is nested too deeply to render; flatten the expression ({row})") from None
        except MemoryError:
            raise InputError(f"{head} ran out of memory; simplify it ({row})") from None
        except Exception as exc:  # noqa: BLE001 - any failure of a user template: undefined field, syntax, types
            msg = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            raise InputError(f"{head} failed ({_short(' '.join(str(msg).split()), 120)}); check the field names in "
                             f"the YAML ({row})") from None

    def _row(self, where: str) -> str:
        """A data row (``FILE:LINE``) named relative to the task YAML's folder when it lies inside it."""
        try:
            return str(Path(where).relative_to(self.path.parent))
        except ValueError:
            return where

    def text(self, doc: dict, where: str) -> Any:
        spec = self.cfg.get("doc_to_text")
        if isinstance(spec, int):
            return spec
        if not isinstance(spec, str):
            raise InputError(f"{self.path}: doc_to_text must be a field name or a Jinja template")
        if spec in doc:
            return doc[spec]
        s = self._render("doc_to_text", spec, doc, where)
        return ast.literal_eval(s) if s.isdigit() and self.has_choice else s

    def target(self, doc: dict, where: str) -> Any:
        spec = self.cfg.get("doc_to_target")
        if isinstance(spec, (int, list)):
            return spec
        if not isinstance(spec, str):
            raise InputError(f"{self.path}: doc_to_target must be a field name or a Jinja template")
        if spec in doc:
            return doc[spec]
        s = self._render("doc_to_target", spec, doc, where)
        if s.isdigit() and self.has_choice:
            return ast.literal_eval(s)
        if len(s) >= 2 and s[0] == "[" and s[-1] == "]":
            return _literal(s, s)
        return s

    def choices(self, doc: dict, where: str) -> list:
        spec = self.cfg.get("doc_to_choice")
        if isinstance(spec, list):
            return spec
        if isinstance(spec, dict):
            return list(spec.values())
        if isinstance(spec, str):
            if spec in doc:
                return doc[spec]
            s = self._render("doc_to_choice", spec, doc, where)
            out = _literal(s, None)
            if out is None:
                raise InputError(f"{self.path}: doc_to_choice rendered {_short(s)!r} at row {where}, not a list "
                                 "literal; make the template produce a Python list")
            return out
        raise InputError(f"{self.path}: doc_to_choice must be a field name, a Jinja template or a list")


#: Longest rendered text read back as a Python literal (a list of choices, a target list), characters.
MAX_LITERAL_CHARS = 100_000


def _literal(s: str, fallback: Any) -> Any:
    """``ast.literal_eval(s)``, or ``fallback`` when ``s`` is not a literal (or too long or deep to be one)."""
    if len(s) > MAX_LITERAL_CHARS:
        return fallback
    try:
        return ast.literal_eval(s)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return fallback


def _short(text: str, n: int = 60) -> str:
    """``text`` cut to ``n`` characters (with ``...``), for messages."""
    return text if len(text) <= n else text[: n - 3] + "..."


def _to_example(doc: dict, r: _DocRenderer, mc: bool, where: str) -> Example:
    text = r.text(doc, where)
    if not isinstance(text, str):
        raise InputError(f"{where}: doc_to_text gave {type(text).__name__}, not text; "
                         "multiple-input tasks are not supported")
    target = r.target(doc, where)
    if mc:
        choices = r.choices(doc, where)
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices) or len(choices) < 2:
            raise InputError(f"{where}: doc_to_choice must give a list of >= 2 strings, got {choices!r}")
        if isinstance(target, str) and target in choices:
            target = choices.index(target)
        if isinstance(target, list):
            target = target[0] if target else None
        if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < len(choices):
            raise InputError(f"{where}: doc_to_target gave {target!r}, not an index into the {len(choices)} "
                             "choices; point doc_to_target at the answer index")
        return Example(prompt=text, choices=tuple(choices), answer=target)
    if isinstance(target, list):
        target = target[0] if target else ""
    if isinstance(target, (int, float)) and not isinstance(target, bool):
        target = str(target)
    if not isinstance(target, str):
        raise InputError(f"{where}: doc_to_target gave {type(target).__name__}; it must give the target text")
    return Example(prompt=text, target=target)


@dataclass(frozen=True)
class LmevalSource:
    """What a task YAML says, checked but not rendered: merged config, split files, task name."""

    path: Path
    cfg: dict
    files: dict[str, Path]
    test_split: str
    train_split: str | None
    multiple_choice: bool
    name: str


def read_lmeval_source(path: Path, name: str | None = None) -> LmevalSource:
    """Read and check an lm-eval task YAML (keys, splits, data files) without rendering a template."""
    cfg = read_yaml_config(path)
    output_type = cfg.get("output_type", "generate_until")
    if output_type not in ("multiple_choice", "generate_until"):
        raise InputError(f"{path}: output_type {output_type!r} is not supported; use multiple_choice or generate_until")
    for key in ("doc_to_text", "doc_to_target"):
        if key not in cfg:
            raise InputError(f"{path}: missing key {key!r}; add it (a field name or a Jinja template)")
    mc = output_type == "multiple_choice"
    if mc and cfg.get("doc_to_choice") is None:
        raise InputError(f"{path}: multiple_choice needs 'doc_to_choice' (a field name, template or list)")
    files = _data_files(cfg, path)
    test_split = cfg.get("test_split") or cfg.get("validation_split")
    if not test_split:
        raise InputError(f"{path}: set 'test_split' (or 'validation_split') to one of the data_files splits {sorted(files)}")
    train_split = cfg.get("training_split") or cfg.get("fewshot_split")
    for key, split in (("test_split", test_split), ("training_split", train_split)):
        if split is not None and split not in files:
            raise InputError(f"{path}: {key} {split!r} is not among data_files splits {sorted(files)}; add it to data_files")
    return LmevalSource(path=path, cfg=cfg, files=files, test_split=test_split, train_split=train_split,
                        multiple_choice=mc, name=name or str(cfg.get("task") or path.stem))


#: The last tasks rendered, by what they were rendered from (`_source_key`): a command that checks a
#: task before importing torch (`emergence eval`) and then loads it again renders it once.
_RENDERED: dict[tuple, TaskSpec] = {}


def _source_key(src: LmevalSource) -> tuple:
    """What a rendered task depends on: the merged config, the task name, and each data file's identity."""
    import json

    def stat(p: Path) -> tuple:
        try:
            st = p.stat()
        except OSError:
            return (str(p), None)
        return (str(p.resolve()), st.st_mtime_ns, st.st_size)

    return (str(src.path.resolve()), src.name, json.dumps(src.cfg, sort_keys=True, default=repr),
            tuple(stat(f) for _, f in sorted(src.files.items())))


def load_lmeval_yaml(path: Path, name: str | None = None) -> TaskSpec:
    """An lm-eval task YAML over local JSON/JSONL files → TaskSpec (see module docstring)."""
    src = read_lmeval_source(path, name)
    key = _source_key(src)
    if key not in _RENDERED:
        _RENDERED.clear()  # keep one: a process evaluates one task at a time
        _RENDERED[key] = _render_task(src)
    return _RENDERED[key]


def _render_task(src: LmevalSource) -> TaskSpec:
    """Every row of the task's splits rendered into examples (templates under their budget)."""
    path = src.path
    cfg, files, mc = src.cfg, src.files, src.multiple_choice
    renderer = _DocRenderer(cfg, path)

    def examples(split: str | None) -> tuple[Example, ...]:
        if split is None:
            return ()
        f = files[split]
        return tuple(_to_example(doc, renderer, mc, f"{f}:{line}") for line, doc in read_json_rows(f))

    fewshot_delimiter = cfg.get("fewshot_delimiter", "\n\n")
    until = (cfg.get("generation_kwargs") or {}).get("until", [fewshot_delimiter])
    if isinstance(until, str):
        until = [until]
    return TaskSpec(
        name=src.name,
        kind="multiple_choice" if mc else "generation",
        train=examples(src.train_split),
        test=examples(src.test_split),
        fewshot_delimiter=fewshot_delimiter,
        target_delimiter=cfg.get("target_delimiter", " "),
        stop=tuple(until),
        metadata={"source": str(path), "format": "lm-eval-yaml", "description": cfg.get("description", "") or "",
                  "num_fewshot": cfg.get("num_fewshot"), "metric_list": cfg.get("metric_list"),
                  "extractors": from_lmeval_filter_list(cfg.get("filter_list"), str(path)) if not mc else ()},
    )
