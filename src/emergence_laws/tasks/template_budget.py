"""The budget every task-template render runs under: time, steps, sizes and memory.

A task file is data, and its Jinja templates (``doc_to_text``, ``doc_to_target``, ``doc_to_choice``)
render in jinja2's immutable sandbox, which refuses Python internals and mutation. The sandbox alone
does not stop a template from asking for a billion characters (``x|center(1000000000)``), a number
with millions of digits (``((9**64)**64)**64``) or an endless loop (nested ``range(100000)``); this
module does, without threads or signals, on any CPython:

- **sizes**: no string, list or output a template builds may exceed `MAX_CHARS` characters or
  `MAX_ITEMS` items, no integer `MAX_INT_BITS` bits. Operations that can multiply a size are checked
  *before* they run, from their operands: ``*`` and ``+`` on strings and lists, ``**`` and ``*`` on
  integers (both sides), ``~`` chains, ``%``/``format`` widths and precisions, the widths of
  ``center``/``indent``/``wordwrap``/``ljust``/``rjust``/``zfill``/``expandtabs``, ``join``,
  ``replace``, ``batch``, ``round`` and ``tojson``, and the text size of anything turned into text
  (``{{ x }}``, ``~``, ``%s``, text filters: a list of a million references to one long string is
  small in memory and enormous as text); every other result is checked after. ``encode``/``decode``
  take the plain codecs only (`SAFE_CODECS`).
- **steps**: every loop iteration (each ``{% for %}`` iterates through `budget_iter`), call, filter,
  attribute or item read and operator is a step: `MAX_STEPS` per render bounds every loop, however
  nested, and every recursion of macros.
- **time**: every step checks the render's clock now and then (each call and filter at once):
  `TIME_LIMIT_S` seconds of CPU time per render, the rendering thread's, so a busy machine does not
  make a template fail. A regex in ``regex_replace`` runs under `REGEX_TIME_LIMIT_S` (the `regex`
  package's timeout: C code the clock cannot interrupt).
- **memory**: resident memory may not grow by more than `MAX_MEMORY_GROWTH` bytes during a render
  (checked every 256 steps and after any large value).

Limits of the approach: no threads, signals or trace functions, so one operation runs to its end
before the budget is checked again; each is bounded by its operands instead (the caps above, and
`MAX_SLOW_FILTER_CHARS` for the two filters whose time grows faster than their input), so one
step costs at most about a second of CPU.
"""

from __future__ import annotations

import inspect
import re
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator
from functools import wraps
from typing import Any

#: Longest template source, in characters.
MAX_TEMPLATE_CHARS = 20_000
#: Longest string a template may build or output, in characters.
MAX_CHARS = 1_000_000
#: Most items of a list, tuple or dict a template may build (``range`` is capped at 100,000 by jinja2).
MAX_ITEMS = 1_000_000
#: Largest integer a template may build, in bits (2**4096 has 1,234 digits).
MAX_INT_BITS = 4096
#: Steps per render: loop iterations, calls, filters, attribute and item reads, operators.
MAX_STEPS = 1_000_000
#: Seconds of CPU time per render (the rendering thread's: a loaded machine does not make a template fail).
TIME_LIMIT_S = 2.0
#: Growth of resident memory allowed during one render, in bytes.
MAX_MEMORY_GROWTH = 150 * 2**20
#: Seconds one ``regex_replace`` may run (the `regex` package's timeout, which it checks now and then:
#: it may overshoot by half).
REGEX_TIME_LIMIT_S = 1.0
#: Longest text given to a filter whose time grows faster than its input (striptags, wordwrap), characters.
MAX_SLOW_FILTER_CHARS = 100_000
#: Codecs ``str.encode``/``bytes.decode`` may use in a template (others, such as punycode, run
#: in Python in time quadratic in their input).
SAFE_CODECS = frozenset({"utf-8", "utf8", "ascii", "latin-1", "latin1", "iso-8859-1", "utf-16", "utf-32"})
#: Largest ``tojson`` indent and ``round`` precision (digits).
MAX_INDENT = 64
MAX_ROUND_DIGITS = 100
#: Filters of no use in a task prompt that are hard to bound (HTML link building).
DROPPED_FILTERS = ("urlize",)

#: How often (in steps) the memory, and the clock, are read.
_CHECK_EVERY = 256
_CLOCK_EVERY = 16


class TemplateBudgetError(Exception):
    """A template went over its render budget (the message says which limit).

    Deliberately not a TypeError/ValueError/LookupError: jinja2 swallows those in places."""


def describe_budget() -> str:
    """The budget in words, for error messages and docs."""
    return (f"{MAX_STEPS:,} steps, {TIME_LIMIT_S:g} s, {MAX_CHARS:,} characters, {MAX_ITEMS:,} items, "
            f"{MAX_INT_BITS}-bit integers, {MAX_MEMORY_GROWTH // 2**20} MB")


# ---------------------------------------------------------------------------------- the meter

def _rss_bytes() -> int:
    """Resident memory of this process in bytes (Linux: now; elsewhere: the peak so far)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        try:
            import resource
        except ImportError:  # Windows: no cheap reading; the size caps still hold
            return 0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


try:
    import os as _os

    _PAGE = _os.sysconf("SC_PAGE_SIZE")
except (AttributeError, ValueError, OSError):
    _PAGE = 4096


class _Meter:
    """One render's budget: steps, CPU deadline, memory baseline."""

    def __init__(self, max_steps: int, seconds: float) -> None:
        self.steps, self.max_steps, self.seconds = 0, max_steps, seconds
        self.deadline = time.thread_time() + seconds  # CPU time of this thread: the same on a busy machine
        self.next_clock_check = 0
        self.next_memory_check = _CHECK_EVERY
        self.rss0: int | None = None  # read at the first check (a read costs ~7 us; most renders never get there)
        self.failure: str | None = None  # set when over budget, so a swallowed error is raised again

    def fail(self, what: str) -> None:
        self.failure = what
        raise TemplateBudgetError(what)

    def check(self, clock: bool = False) -> None:
        """Raise TemplateBudgetError when a limit is passed (or was passed and the error swallowed);
        the clock is read every `_CLOCK_EVERY` steps (or when `clock`), the memory every `_CHECK_EVERY`."""
        if self.failure is not None:
            raise TemplateBudgetError(self.failure)
        if self.steps > self.max_steps:
            self.fail(f"more than {self.max_steps:,} steps (a loop too long or too deeply nested)")
        if clock or self.steps >= self.next_clock_check:
            self.next_clock_check = self.steps + _CLOCK_EVERY
            if time.thread_time() > self.deadline:
                self.fail(f"more than {self.seconds:g} s of CPU time")
        if self.steps >= self.next_memory_check:
            self.next_memory_check = self.steps + _CHECK_EVERY
            self.check_memory()

    def check_memory(self) -> None:
        if self.rss0 is None:
            self.rss0 = _rss_bytes()
            return
        grown = _rss_bytes() - self.rss0
        if grown > MAX_MEMORY_GROWTH:
            self.fail(f"memory grew by more than {MAX_MEMORY_GROWTH // 2**20} MB")

    def remaining_s(self) -> float:
        return max(self.deadline - time.thread_time(), 0.0)


_ACTIVE = threading.local()


def _meter() -> _Meter | None:
    return getattr(_ACTIVE, "meter", None)


def _tick(clock: bool = False) -> None:
    """One step of the active render (a hook, a loop iteration); checks its budget. ``clock``: read the
    clock now (before a call or a filter, which may take long)."""
    m = _meter()
    if m is not None:
        m.steps += 1
        m.check(clock)


def budget_iter(iterable: Iterable[Any]) -> Iterator[Any]:
    """``iterable``, one step per item: every ``{% for %}`` loop iterates through this."""
    for item in iterable:
        _tick()
        yield item


def run_with_budget(fn: Callable[[], Any], *, steps: int | None = None, seconds: float | None = None) -> Any:
    """Run ``fn()`` (a render, or a compile) under a fresh budget; TemplateBudgetError when over it."""
    if _meter() is not None:  # already inside a budget: share it
        return fn()
    meter = _Meter(MAX_STEPS if steps is None else steps, TIME_LIMIT_S if seconds is None else seconds)
    _ACTIVE.meter = meter
    try:
        out = fn()
    finally:
        _ACTIVE.meter = None
    if meter.failure is not None:  # over budget, and something swallowed the error
        raise TemplateBudgetError(meter.failure)
    return out


class BudgetedTemplate:
    """A task template compiled once, its loops counted (`budget_iter`); each :meth:`render` under the budget."""

    def __init__(self, env: Any, source: str) -> None:
        from jinja2 import nodes

        if len(source) > MAX_TEMPLATE_CHARS:
            raise TemplateBudgetError(f"a template of {len(source):,} characters (the cap is {MAX_TEMPLATE_CHARS:,})")

        def build():
            tree = env.parse(source)
            for loop in tree.find_all(nodes.For):  # `{% for x in xs %}` -> `for x in budget_iter(xs)`
                loop.iter = nodes.Call(nodes.EnvironmentAttribute("budget_iter"), [loop.iter], [], None, None,
                                       lineno=loop.lineno)
            return env.from_string(tree)

        self.template = run_with_budget(build)

    def render(self, doc: dict[str, Any]) -> str:
        return run_with_budget(lambda: self.template.render(**doc))


# ---------------------------------------------------------------------------------- sizes

def _check_size(value: Any) -> Any:
    """``value`` unchanged when inside the size caps; TemplateBudgetError otherwise."""
    if isinstance(value, (str, bytes)):
        if len(value) > MAX_CHARS:
            _over(f"a string of {len(value):,} characters (the cap is {MAX_CHARS:,})")
        if len(value) > MAX_CHARS // 10:
            _memory()
    elif isinstance(value, (list, tuple, dict, set, frozenset)):
        if len(value) > MAX_ITEMS:
            _over(f"a collection of {len(value):,} items (the cap is {MAX_ITEMS:,})")
        if len(value) > MAX_ITEMS // 10:
            _memory()
    elif isinstance(value, int) and not isinstance(value, bool):
        _check_int_bits(value.bit_length())
    return value


def _check_int_bits(bits: float) -> None:
    if bits > MAX_INT_BITS:
        _over(f"an integer of about {int(bits):,} bits (the cap is {MAX_INT_BITS})")


def _check_chars(n: float, what: str) -> None:
    if n > MAX_CHARS:
        _over(f"{what} of about {int(min(n, 1e18)):,} characters (the cap is {MAX_CHARS:,})")


def _over(what: str) -> None:
    m = _meter()
    if m is not None:
        m.fail(what)
    raise TemplateBudgetError(what)


def _memory() -> None:
    m = _meter()
    if m is not None:
        m.check_memory()


def text_size(value: Any, limit: int = MAX_CHARS) -> int:
    """About how many characters ``str(value)`` takes, counted (cheaply, without building it) until
    past `limit`: a list of a million references to one long string is small in memory and
    enormous as text."""
    total, stack = 0, [value]
    while stack and total <= limit:
        v = stack.pop()
        if isinstance(v, str):
            total += len(v) + 2
        elif isinstance(v, (bytes, bytearray)):
            total += 4 * len(v) + 3
        elif isinstance(v, bool) or v is None:
            total += 5
        elif isinstance(v, int):
            total += v.bit_length() * 31 // 100 + 2
        elif isinstance(v, (list, tuple, set, frozenset)):
            total += 2 * len(v) + 2
            stack.extend(v)
        elif isinstance(v, dict):
            total += 4 * len(v) + 2
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (type({}.keys()), type({}.values()), type({}.items()))):
            total += 2 * len(v) + 16
            stack.extend(v)
        elif type(v).__name__ == "Namespace":  # jinja2's namespace(): its repr shows its attributes
            total += 12
            stack.append(getattr(v, "_Namespace__attrs", {}))
        else:
            total += 64
    return total


def _check_text(value: Any, what: str) -> Any:
    """``value`` unchanged when ``str(value)`` stays within `MAX_CHARS`; refused before it is built otherwise."""
    if not isinstance(value, str):
        n = text_size(value)
        if n > MAX_CHARS:
            _over(f"{what} of more than {MAX_CHARS:,} characters (the cap)")
    return value


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _length(v: Any) -> int:
    return len(v) if isinstance(v, (str, bytes, list, tuple, dict, set, frozenset)) else 0


# ---------------------------------------------------------------------------------- operators

def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``left OP right`` before it runs when its result would pass a cap."""
    if operator == "**":
        if _is_int(left) and _is_int(right) and right > 0:
            _check_int_bits(max(left.bit_length(), 1) * right)
    elif operator == "*":
        if _is_int(left) and _is_int(right):
            _check_int_bits(left.bit_length() + right.bit_length())
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, (str, bytes, list, tuple)) and _is_int(n):
                size = len(seq) * n
                if isinstance(seq, (str, bytes)):
                    _check_chars(size, f"repeating a string {n:,} times gives a string")
                elif size > MAX_ITEMS:
                    _over(f"repeating a {type(seq).__name__} {n:,} times gives {size:,} items (the cap is {MAX_ITEMS:,})")
    elif operator == "+":
        if isinstance(left, (str, bytes)) and isinstance(right, (str, bytes)):
            _check_chars(len(left) + len(right), "joining two strings gives a string")
        elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)) and len(left) + len(right) > MAX_ITEMS:
            _over(f"joining two lists gives {len(left) + len(right):,} items (the cap is {MAX_ITEMS:,})")
    elif operator == "%" and isinstance(left, str):
        _check_printf(left, right)


#: one printf-style conversion: %[(name)][flags][width][.precision][length]type
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?([a-zA-Z%])")


def _check_printf(fmt: str, args: Any) -> None:
    """Refuse ``fmt % args`` when its widths and precisions (``%0999999999d``, ``%*d``) would pass the cap."""
    values = args if isinstance(args, tuple) else (args,)
    stars = [a for a in values if _is_int(a)]
    total = len(fmt) + sum(text_size(a) for a in values)
    for m in _PRINTF.finditer(fmt):
        for part in (m.group(1), m.group(2)):
            if not part:
                continue
            if part == "*":
                total += abs(stars.pop(0)) if stars else 0
            else:
                total += int(part) if len(part) < 20 else 10**20
    _check_chars(total, f"the format {_short(fmt)!r} gives a string")


#: a format spec's width and precision: [[fill]align][sign][z][#][0][width][grouping][.precision][type]
_SPEC = re.compile(r"^(?:.?[<>=^])?[+\- ]?z?#?0?(\d*)[,_]?(?:\.(\d+))?[a-zA-Z%]?$", re.DOTALL)


def _spec_width(spec: str) -> int:
    m = _SPEC.match(spec)
    if not m:
        return 0  # an invalid spec: format() raises ValueError itself
    return sum(int(g) if len(g) < 20 else 10**20 for g in m.groups() if g)


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


# ---------------------------------------------------------------------------------- calls

def check_call(obj: Any, args: tuple, kwargs: dict) -> None:
    """Refuse a call of a builtin method whose result would pass a cap (``'x'.center(10**9)``,
    ``sep.join(...)``, ``s.replace('', big)``, ``(1).to_bytes(10**9)``)."""
    if not isinstance(obj, types.BuiltinMethodType):
        return
    owner, name = getattr(obj, "__self__", None), obj.__name__
    if isinstance(owner, types.ModuleType) or owner is None:
        return
    numbers = [a for a in (*args, *kwargs.values()) if _is_int(a)]
    if any(abs(n) > MAX_CHARS for n in numbers):
        _over(f"{type(owner).__name__}.{name}() with a size of {max(map(abs, numbers)):,} (the cap is {MAX_CHARS:,})")
    if not isinstance(owner, (str, bytes)):
        return
    if name in ("encode", "decode"):
        codec = args[0] if args else kwargs.get("encoding", "utf-8")
        if not isinstance(codec, str) or codec.lower().replace("_", "-") not in SAFE_CODECS:
            _over(f"{name} with codec {_short(str(codec), 20)!r} (task templates may use {', '.join(sorted(SAFE_CODECS))})")
    if name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if _is_int(size):
            _check_chars(len(owner) + owner.count("\t" if isinstance(owner, str) else b"\t") * size,
                         "expandtabs gives a string")
    elif name == "replace" and len(args) >= 2:
        _check_chars(_replace_size(owner, args[0], args[1], args[2] if len(args) > 2 else -1), "replace gives a string")
    elif name == "translate" and args and isinstance(args[0], dict):
        longest = max((_length(v) for v in args[0].values()), default=1)
        _check_chars(len(owner) * max(longest, 1), "translate may give a string")


def _replace_size(s: Any, old: Any, new: Any, count: Any) -> float:
    if not isinstance(s, (str, bytes)) or not isinstance(old, (str, bytes)) or not isinstance(new, (str, bytes)):
        return 0
    hits = s.count(old) if old else len(s) + 1
    if _is_int(count) and count >= 0:
        hits = min(hits, count)
    return len(s) + hits * max(len(new) - len(old), 0)


def _join_size(items: list, sep: Any) -> int:
    total = len(sep) * max(len(items) - 1, 0) if isinstance(sep, (str, bytes)) else 0
    for x in items:
        total += len(x) if isinstance(x, str) else text_size(x)
        if total > MAX_CHARS:
            break
    return total


# ---------------------------------------------------------------------------------- filters

def _filter_checks(name: str, a: dict[str, Any]) -> dict[str, Any] | None:
    """Refuse a filter call whose result would pass a cap; may return replacement arguments (a
    materialised iterable) or None."""
    if name == "center":
        w = a.get("width")
        if _is_int(w):
            _check_chars(max(w, _length(a.get("value"))), "center gives a string")
    elif name == "indent":
        s, w = a.get("s"), a.get("width")
        pad = w if isinstance(w, str) else w if _is_int(w) else 0
        pad_len = len(pad) if isinstance(pad, str) else pad
        if isinstance(s, str):
            _check_chars(len(s) + (s.count("\n") + 1) * max(pad_len, 0), "indent gives a string")
        else:
            _check_chars(pad_len, "indent gives a string")
    elif name == "wordwrap":
        s, w, wrap = a.get("s"), a.get("width"), a.get("wrapstring")
        if isinstance(s, str) and isinstance(wrap, str) and _is_int(w):
            lines = len(s) // max(w, 1) + s.count("\n") + 1
            _check_chars(len(s) + lines * len(wrap), "wordwrap gives a string")
    elif name == "format":
        v, args, kwargs = a.get("value"), a.get("args") or (), a.get("kwargs") or {}
        if isinstance(v, str):
            _check_printf(v, kwargs or tuple(args))
    elif name == "join":
        items = list(a.get("value") or ())  # a generator is read once: keep it for the call
        _check_size(items)
        if a.get("attribute") is None:
            _check_chars(_join_size(items, a.get("d", "")), "join gives a string")
        a["value"] = items
        return a
    elif name == "replace":
        _check_chars(_replace_size(a.get("s"), a.get("old"), a.get("new"),
                                   a.get("count") if a.get("count") is not None else -1), "replace gives a string")
    elif name == "sum":
        if not isinstance(a.get("start", 0), (int, float)):
            _over("sum with a non-number start (adding lists up takes time quadratic in their number)")
    elif name == "batch":
        n = a.get("linecount")
        if _is_int(n) and n > MAX_ITEMS:
            _over(f"batch of {n:,} items (the cap is {MAX_ITEMS:,})")
    elif name == "slice":
        n = a.get("slices")
        if _is_int(n) and n > MAX_ITEMS:
            _over(f"{n:,} slices (the cap is {MAX_ITEMS:,})")
    elif name == "round":
        p = a.get("precision")
        if _is_int(p) and abs(p) > MAX_ROUND_DIGITS:
            _over(f"round to {p:,} digits (the cap is {MAX_ROUND_DIGITS})")
    elif name == "tojson":
        i = a.get("indent")
        if (_is_int(i) and i > MAX_INDENT) or (isinstance(i, str) and len(i) > MAX_INDENT):
            _over(f"tojson indent {_short(str(i))!r} (the cap is {MAX_INDENT})")
    if name in _SLOW_FILTERS:
        v = a.get("value")
        if isinstance(v, str) and len(v) > MAX_SLOW_FILTER_CHARS:
            _over(f"{name} on {len(v):,} characters (its time grows faster than its input: the cap is "
                  f"{MAX_SLOW_FILTER_CHARS:,})")
    return None


#: filters that turn their value into text (its text size is checked first)
_TEXT_FILTERS = frozenset({"string", "e", "escape", "forceescape", "safe", "upper", "lower", "trim", "capitalize",
                           "title", "truncate", "wordwrap", "striptags", "urlencode", "format", "replace",
                           "regex_replace", "wordcount", "center", "indent", "tojson", "pprint"})
#: filters whose time grows faster than their input (markupsafe's striptags rebuilds the text per tag;
#: wordwrap's width 1 splits it into a line per character): their input is capped at `MAX_SLOW_FILTER_CHARS`
_SLOW_FILTERS = frozenset({"striptags", "wordwrap"})
#: filters whose arguments are checked before they run (every filter's result is checked after)
_CHECKED_FILTERS = frozenset({"center", "indent", "wordwrap", "format", "join", "replace", "sum", "batch", "slice",
                              "round", "tojson", "striptags"})


def guard_filter(name: str, f: Callable) -> Callable:
    """``f`` (a jinja2 filter) with its budget checks before, and the size check of its result after."""
    skip = 1 if getattr(f, "jinja_pass_arg", None) is not None else 0  # environment / eval context first
    sig = inspect.signature(f) if name in _CHECKED_FILTERS else None
    to_text = name in _TEXT_FILTERS

    @wraps(f)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _tick(clock=True)
        if to_text and len(args) > skip:
            _check_text(args[skip], f"the {name} filter's input as text")
        if sig is not None:
            try:
                bound = sig.bind(*args, **kwargs)
            except TypeError:
                return f(*args, **kwargs)  # the filter raises its own TypeError
            bound.apply_defaults()
            named = list(bound.arguments.items())[skip:]
            a = {"value": named[0][1], **dict(named)} if named else {}
            new = _filter_checks(name, a)
            if new is not None:  # the value was materialised (a generator is read once): pass the list
                args = (*args[:skip], new["value"], *args[skip + 1:])
        return _check_size(f(*args, **kwargs))

    return guarded


def regex_replace(s: str, pattern: str, repl: str, count: int = 0) -> str:
    """lm-eval's ``regex_replace`` filter, under the render's remaining time (the `regex` package's timeout)."""
    import regex

    m = _meter()
    timeout = min(m.remaining_s() if m is not None else TIME_LIMIT_S, REGEX_TIME_LIMIT_S)
    s = str(s)
    backrefs = len(re.findall(r"\\(?:\d|g<)", str(repl)))
    _check_chars(len(s) + (len(s) + 1) * (len(str(repl)) + backrefs * len(s)) if repl or backrefs else len(s),
                 "regex_replace may give a string")
    try:
        return regex.sub(pattern, repl, s, count=count, timeout=max(timeout, 1e-3))
    except TimeoutError:
        _over(f"the regex {_short(str(pattern))!r} ran past the time limit")
        raise  # not reached


# ---------------------------------------------------------------------------------- the environment

def checked_join(parts: Iterable[Any]) -> str:
    """``"".join(map(str, parts))`` that stops at `MAX_CHARS` (the render's output, macro and block
    bodies, and ``~`` chains)."""
    out, total = [], 0
    for p in parts:
        s = p if isinstance(p, str) else str(_check_text(p, "a text"))
        total += len(s)
        if total > MAX_CHARS:
            _over(f"a text of more than {MAX_CHARS:,} characters (output, `~` chain or macro)")
        out.append(s)
    return "".join(out)


def task_template_env():
    """The jinja2 environment for task templates: lm-eval's (StrictUndefined, ``regex_replace``),
    immutable-sandboxed, every render budgeted (see the module docstring)."""
    from jinja2 import BaseLoader, StrictUndefined
    from jinja2.compiler import CodeGenerator, optimizeconst
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter

    class _CountingFormatter:
        """str.format in the sandbox, refusing a field whose width or precision would pass the cap."""

        total = 0

        def format_field(self, value: Any, format_spec: str) -> Any:
            _tick()
            self.total += _spec_width(format_spec) + (len(value) if isinstance(value, str) else text_size(value))
            _check_chars(self.total, "str.format gives a string")
            return super().format_field(value, format_spec)

    class _Formatter(_CountingFormatter, SandboxedFormatter):
        pass

    class _EscapeFormatter(_CountingFormatter, SandboxedEscapeFormatter):
        pass

    class _Generator(CodeGenerator):
        @optimizeconst
        def visit_Concat(self, node, frame) -> None:  # `a ~ b ~ c`: size-checked
            if frame.eval_ctx.volatile or frame.eval_ctx.autoescape:
                return super().visit_Concat(node, frame)
            self.write("environment.concat((")
            for arg in node.nodes:
                self.visit(arg, frame)
                self.write(", ")
            self.write("))")

    class _TaskTemplates(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "+", "%"})
        code_generator_class = _Generator
        concat = staticmethod(checked_join)

        def call_binop(self, context, operator, left, right):
            _tick()
            check_binop(operator, left, right)
            return _check_size(super().call_binop(context, operator, left, right))

        def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - jinja2's signature
            _tick(clock=True)
            check_call(__obj, args, kwargs)
            return _check_size(super().call(__context, __obj, *args, **kwargs))

        def getattr(self, obj, attribute):
            _tick()
            return super().getattr(obj, attribute)

        def getitem(self, obj, argument):
            _tick()
            return super().getitem(obj, argument)

        def wrap_str_format(self, value):
            wrapped = super().wrap_str_format(value)
            if wrapped is None:
                return None
            f_self, is_map = value.__self__, value.__name__ == "format_map"
            from markupsafe import Markup

            def wrapper(*args, **kwargs):
                formatter = (_EscapeFormatter(self, escape=f_self.escape) if isinstance(f_self, Markup)
                             else _Formatter(self))
                if is_map:
                    if kwargs or len(args) != 1:
                        raise TypeError("format_map() takes exactly one argument")
                    args, kwargs = (), args[0]
                return type(f_self)(formatter.vformat(f_self, args, kwargs))

            return wrapper

    env = _TaskTemplates(loader=BaseLoader, undefined=StrictUndefined, keep_trailing_newline=True)
    env.globals.pop("lipsum", None)  # a text generator: no use in a task, a CPU sink in a hostile one
    for name in DROPPED_FILTERS:
        env.filters.pop(name, None)
    env.filters["regex_replace"] = regex_replace
    env.filters = {name: guard_filter(name, f) for name, f in env.filters.items()}
    env.budget_iter = budget_iter  # what every `{% for %}` iterates through (BudgetedTemplate)
    env.finalize = lambda value: _check_text(value, "an output")  # `{{ x }}` runs str(x): size it first
    return env

