"""tasks/: JSONL and lm-eval YAML loading, errors that name file and line, few-shot formatting."""

from __future__ import annotations

import json
import sys

import pytest

from emergence_laws.errors import InputError
from emergence_laws.tasks import Example, TaskSpec, build_fewshot_context, load_task


def _jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


MC = [{"question": f"q{i}?", "choices": ["yes", "no", "maybe"], "answer": i % 3} for i in range(10)]
GEN = [{"prompt": f"{i} + 1 =", "target": str(i + 1)} for i in range(10)]


def test_tasks_package_imports_no_torch():
    import subprocess

    code = "import emergence_laws.tasks, sys; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_jsonl_multiple_choice_with_split_fields(tmp_path):
    rows = [dict(r, split="train" if i < 6 else "test") for i, r in enumerate(MC)]
    t = load_task(_jsonl(tmp_path / "mc.jsonl", rows))
    assert t.kind == "multiple_choice" and t.name == "mc"
    assert len(t.train) == 6 and len(t.test) == 4
    assert t.test[0] == Example(prompt="q6?", choices=("yes", "no", "maybe"), answer=0)
    assert t.chance == pytest.approx(1 / 3)


def test_jsonl_generation_random_split_is_seeded_and_train_path_and_folder(tmp_path):
    p = _jsonl(tmp_path / "gen.jsonl", GEN)
    a, b, c = load_task(p, seed=1), load_task(p, seed=1), load_task(p, seed=2, test_size=3)
    assert a == b and a.kind == "generation" and len(a.test) == 5 and len(c.test) == 3
    assert set(a.train) | set(a.test) == {Example(prompt=r["prompt"], target=r["target"]) for r in GEN}
    assert a.test != load_task(p, seed=2).test
    t = load_task(p, train_path=_jsonl(tmp_path / "train.jsonl", GEN[:3]))
    assert len(t.train) == 3 and len(t.test) == 10
    folder = tmp_path / "dir"
    folder.mkdir()
    _jsonl(folder / "train.jsonl", GEN[:4])
    _jsonl(folder / "test.jsonl", GEN[4:])
    t = load_task(folder)
    assert (t.name, len(t.train), len(t.test)) == ("dir", 4, 6)
    assert load_task(p, stop=(";",), target_delimiter="").stop == (";",)


@pytest.mark.parametrize("line, match", [
    ("{not json", r"bad\.jsonl:2: not valid JSON"),
    ('{"question": "q", "choices": ["a", "b"], "answer": 5}', r"bad\.jsonl:2: \"answer\" must be an index"),
    ('{"question": "q", "choices": "ab", "answer": 0}', r"bad\.jsonl:2: \"choices\" must be a list"),
    ('{"prompt": "p", "target": "t"}', r"bad\.jsonl:2: mixes multiple-choice and generation"),
    ('{"choices": ["a", "b"], "answer": 0}', r"bad\.jsonl:2: missing string \"question\""),
])
def test_bad_jsonl_names_file_line_and_fix(tmp_path, line, match):
    p = tmp_path / "bad.jsonl"
    p.write_text(json.dumps(MC[0]) + "\n" + line + "\n")
    with pytest.raises(InputError, match=match):
        load_task(p)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_task(tmp_path / "nope.jsonl")
    (tmp_path / "t.txt").write_text("x")
    with pytest.raises(InputError, match="unknown task file type"):
        load_task(tmp_path / "t.txt")


def _yaml(tmp_path, body: str):
    _jsonl(tmp_path / "train.jsonl", [{"q": "2+2", "opts": ["3", "4"], "label": 1, "ans": "4"}])
    _jsonl(tmp_path / "test.jsonl", [{"q": "1+1", "opts": ["2", "5"], "label": 0, "ans": "2"}])
    y = tmp_path / "task.yaml"
    y.write_text(f"task: arith\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    train: train.jsonl\n"
                 f"    test: test.jsonl\ntest_split: test\nfewshot_split: train\n{body}")
    return y


def test_lmeval_yaml_multiple_choice_templates_and_fields(tmp_path):
    y = _yaml(tmp_path, 'output_type: multiple_choice\ndoc_to_text: "Q: {{q}}\\nA:"\n'
                        "doc_to_choice: opts\ndoc_to_target: label\ntarget_delimiter: ' '\ndescription: \"Math.\\n\"\n")
    t = load_task(y)
    assert t.name == "arith" and t.kind == "multiple_choice"
    assert t.test[0] == Example(prompt="Q: 1+1\nA:", choices=("2", "5"), answer=0)
    assert build_fewshot_context(t, t.test[0], shots=1) == "Math.\nQ: 2+2\nA: 4\n\nQ: 1+1\nA:"
    # doc_to_choice as a template or a literal list; doc_to_target as a template or the choice text
    y = _yaml(tmp_path, "output_type: multiple_choice\ndoc_to_text: q\n"
                        "doc_to_choice: \"{{opts}}\"\ndoc_to_target: \"{{label}}\"\n")
    assert load_task(y).test[0] == Example(prompt="1+1", choices=("2", "5"), answer=0)
    y = _yaml(tmp_path, "output_type: multiple_choice\ndoc_to_text: q\ndoc_to_choice: ['2', '4', '5']\ndoc_to_target: ans\n")
    assert load_task(y).test[0].answer == 0


def test_lmeval_yaml_generate_until(tmp_path):
    y = _yaml(tmp_path, 'output_type: generate_until\ndoc_to_text: "{{q}} ="\ndoc_to_target: ans\n'
                        'generation_kwargs:\n  until: ["\\n", "."]\n')
    t = load_task(y)
    assert t.kind == "generation" and t.stop == ("\n", ".")
    assert t.test[0] == Example(prompt="1+1 =", target="2") and t.train[0].target == "4"
    y = _yaml(tmp_path, 'output_type: generate_until\ndoc_to_text: "{{q}} ="\ndoc_to_target: ans\n')
    assert load_task(y).stop == ("\n\n",)


@pytest.mark.parametrize("body, match", [
    ("output_type: multiple_choice\ndoc_to_text: !function utils.f\ndoc_to_choice: opts\ndoc_to_target: label\n",
     "!function"),
    ("output_type: multiple_choice\ndoc_to_text: '{{missing}}'\ndoc_to_choice: opts\ndoc_to_target: label\n",
     r"task\.yaml: doc_to_text template failed \('missing' is undefined\); .*\(row train\.jsonl:1\)"),
    ("output_type: loglikelihood_rolling\ndoc_to_text: q\ndoc_to_target: ans\n", "output_type"),
    ("output_type: multiple_choice\ndoc_to_text: q\ndoc_to_target: label\n", "doc_to_choice"),
    ("output_type: multiple_choice\ndoc_to_text: q\ndoc_to_choice: opts\ndoc_to_target: 7\n", "not an index"),
])
def test_lmeval_yaml_errors(tmp_path, body, match):
    with pytest.raises(InputError, match=match):
        load_task(_yaml(tmp_path, body))


HOSTILE = [
    "{{ cycler.__init__.__globals__.os.system('touch PWNED') }}{{q}}",
    "{{ lipsum.__globals__['os'].system('touch PWNED') }}",
    "{{ q.__class__.__mro__[1].__subclasses__() }}",
    "{% set x = opts.append('touch PWNED') %}{{q}}",
    "{{ 'x' * 10000000000 }}",
]


@pytest.mark.parametrize("template", HOSTILE)
def test_lmeval_yaml_templates_are_sandboxed(tmp_path, template, monkeypatch):
    """A task file is data: a template that reaches for the interpreter fails in one line, runs nothing."""
    monkeypatch.chdir(tmp_path)
    body = f"output_type: generate_until\ndoc_to_text: {json.dumps(template)}\ndoc_to_target: ans\n"
    with pytest.raises(InputError) as err:
        load_task(_yaml(tmp_path, body))
    msg = str(err.value)
    assert "\n" not in msg and "task.yaml: doc_to_text template" in msg and "train.jsonl:1" in msg, msg
    assert not (tmp_path / "PWNED").exists()


#: templates that ask for too much: (id, template, what the error names). Each fails in one line naming
#: the task file and the field, before it takes the time or memory it asks for.
BUDGET_BOMBS = [
    ("pow-left", "{{ (((((9**64)**64)**64)**64)**64) }}", "an integer of about 12,992 bits"),
    ("pow-right", "{{ 10**(10**10) }}", "an integer of about"),
    ("mul-ints", "{{ (2**4000) * (2**4000) }}", "an integer of about 8,000 bits"),
    ("repeat", "{{ 'x' * 10000000000 }}", "repeating a string"),
    ("center", "{{ q|center(1000000000) }}", "center gives a string"),
    ("center-const", "{{ 'x'|center(1000000000) }}", "center gives a string"),
    ("ljust", "{{ q.ljust(999999999) }}", "str.ljust() with a size of 999,999,999"),
    ("to-bytes", "{{ (1).to_bytes(999999999, 'big') }}", "int.to_bytes() with a size"),
    ("printf-width", "{{ '%0999999999d' % 1 }}", "the format '%0999999999d' gives a string"),
    ("printf-star", "{{ '%*d' % (999999999, 1) }}", "the format '%*d' gives a string"),
    ("format-filter", "{{ '%0999999999d'|format(1) }}", "the format '%0999999999d' gives a string"),
    ("str-format", "{{ '{:>999999999}'.format(1) }}", "str.format gives a string"),
    ("str-format-nested", "{{ '{:{}}'.format(1, 999999999) }}", "str.format gives a string"),
    ("str-format-sum", "{{ '{0:>999999}{0:>999999}'.format(1) }}", "str.format gives a string"),
    ("format-map", "{{ '{x:>999999999}'.format_map({'x': 1}) }}", "str.format gives a string"),
    ("indent", "{{ q|indent(999999999) }}", "indent gives a string"),
    ("wordwrap", "{{ ((q ~ ' ') * 200000)|wordwrap(1, wrapstring='y' * 999) }}", "wordwrap gives a string"),
    ("replace", "{{ ('x' * 999999).replace('', 'yyyyyyyyyy') }}", "replace gives a string"),
    ("expandtabs", "{{ ('\t' * 999999).expandtabs(100) }}", "expandtabs gives a string"),
    ("translate", "{{ ('x' * 999999).translate({120: 'yyyyy'}) }}", "translate may give a string"),
    ("join", "{{ (['x' * 999999] * 1000000)|join }}", "join gives a string"),
    ("sum-lists", "{{ ([[1]] * 1000000)|sum(start=[]) }}", "sum with a non-number start"),
    ("batch", "{{ [1]|batch(1000000000, 'x')|list }}", "batch of 1,000,000,000 items"),
    ("round", "{{ 5|round(-1000000000) }}", "round to -1,000,000,000 digits"),
    ("tojson-indent", "{{ [[1]]|tojson(indent=1000000000) }}", "tojson indent"),
    ("list-plus", "{% set a = range(100000)|list %}{% set b = a * 10 %}{{ (b + b)|length }}", "2,000,000 items"),
    ("str-plus", "{% set a = 'x' * 999999 %}{{ a + a }}", "joining two strings"),
    ("concat-chain", "{% set a = q * 100000 %}{{ a" + " ~ a" * 3000 + " }}", "a text of more than 1,000,000"),
    ("concat-doubling", "{% set ns = namespace(a='xxxxxxxxxx') %}{% for i in range(40) %}"
                        "{% set ns.a = ns.a ~ ns.a %}{% endfor %}{{ ns.a|length }}", "a text of more than"),
    ("macro-doubling", "{% macro f(n) %}{% set a = f(n-1) if n else 'x' %}{{ a }}{{ a }}{% endmacro %}{{ f(40) }}",
     "a text of more than"),
    ("repr", "{% set a = 'x' * 999999 %}{% set b = [a] * 1000000 %}{{ b }}", "an output of more than"),
    ("repr-filter", "{% set a = 'x' * 999999 %}{{ ([a] * 1000)|upper }}", "the upper filter's input as text"),
    ("repr-namespace", "{% set a = 'x' * 999999 %}{% set ns = namespace(b=[a] * 1000) %}{{ ns }}",
     "an output of more than"),
    ("nested-range", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{{ q }}",
     "more than 1,000,000 steps"),
    ("macro-exponential", "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}x{% endmacro %}{{ f(40) }}",
     "render budget: more than"),  # 1,000,000 steps, or 2 s of CPU first where a macro call is slow
    ("long-loop", "{% for x in (q * 300000)|list %}{% for y in [1, 2] %}{% endfor %}{% endfor %}{{ q }}",
     "more than 1,000,000 steps"),
    ("slow-loop", "{% set s = 'x' * 999999 %}{% for i in range(100000) %}{% set t = s|replace('x', 'y') %}"
                  "{% endfor %}{{ q }}", "more than 2 s of CPU time"),
    ("memory", "{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% set ns.l = ns.l + [range(100000)|list] %}"
               "{% endfor %}{{ ns.l|length }}", "memory grew by more than 150 MB"),
    ("regex", "{{ ('a' * 40 ~ '!')|regex_replace('^(a|aa)+$', '') }}", "ran past the time limit"),
    ("striptags", "{{ ('<a>' * 300000)|striptags }}", "striptags on 900,000 characters"),
    ("punycode", "{{ ('\u00e9' * 100000).encode('punycode') }}", "encode with codec 'punycode'"),
    ("map-over-a-million", "{{ (range(100000)|list * 10)|map('string')|list|length }}", "render budget: more than"),
    ("long-template", "x" * 30000, "a template of 30,000 characters"),
]


@pytest.mark.parametrize(("template", "phrase"), [b[1:] for b in BUDGET_BOMBS], ids=[b[0] for b in BUDGET_BOMBS])
def test_lmeval_yaml_template_bombs_fail_within_the_budget(tmp_path, template, phrase):
    """Each render has a budget (steps, seconds, characters, items, integer bits, memory): a template that
    asks for more fails in one line naming the task file, the field and the limit, without running on."""
    body = f"output_type: generate_until\ndoc_to_text: {json.dumps(template)}\ndoc_to_target: ans\n"
    with pytest.raises(InputError) as err:
        load_task(_yaml(tmp_path, body))
    msg = str(err.value)
    assert "\n" not in msg and f"{tmp_path / 'task.yaml'}: doc_to_text template" in msg, msg
    assert "goes over its render budget" in msg and phrase in msg, msg


def test_a_template_budget_error_swallowed_inside_jinja2_is_raised_again():
    """jinja2's constant folding calls filters at compile time and swallows their errors: the budget
    remembers the refusal and raises it when the compile returns."""
    from emergence_laws.tasks.template_budget import BudgetedTemplate, TemplateBudgetError, task_template_env

    with pytest.raises(TemplateBudgetError, match="center gives a string"):
        BudgetedTemplate(task_template_env(), "{{ 'x'|center(1000000000) }}")


#: templates a task may well use: the budget must change nothing in their output
WITHIN_BUDGET = [
    "{{ question.strip() }}\nA. {{ choices[0] }}\nB. {{ choices[1] }}\nAnswer:",
    "{% for c in choices %}{{ 'ABCD'[loop.index0] }}. {{ c|trim|upper }}\n{% endfor %}",
    "{{ '{:,}'.format(1234567) }} {{ '%05.1f'|format(3.14159) }} {{ '%-6s|' % 'ab' }} {{ question|center(30) }}",
    "{{ question|regex_replace('[0-9]+', 'N') }} {{ question|replace('?', '!') }} {{ choices|join(', ') }}",
    "{{ range(100000)|map('string')|join(',')|length }} {{ (range(1000)|list * 3)|unique|list|length }}",
    "{{ choices|tojson }} {{ 2**64 }} {{ 'ab' * 3 }} {{ question ~ '!' }} {{ [1, 2] + [3] }} {{ 7.5|round(1) }}",
    "{% macro opt(i, c) %}({{ i }}) {{ c }}{% endmacro %}{% for c in choices %}{{ opt(loop.index, c) }} {% endfor %}",
    "{{ (question * 1000)|wordwrap(40)|length }} {{ choices|batch(2)|list }} {{ question|indent(2, true) }}",
]


@pytest.mark.parametrize("template", WITHIN_BUDGET)
def test_templates_within_the_budget_render_as_plain_jinja2_does(template):
    import re

    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from emergence_laws.tasks.template_budget import BudgetedTemplate, task_template_env

    plain = ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)
    plain.filters["regex_replace"] = lambda s, pattern, repl, count=0: re.sub(pattern, repl, s, count=count)
    doc = {"question": " What is 2+2? ", "choices": ["one", "two", "three", "four"]}
    assert BudgetedTemplate(task_template_env(), template).render(doc) == plain.from_string(template).render(**doc)


def test_a_render_leaves_the_trace_function_alone():
    """The budget counts steps in the sandbox's hooks and loops, not with a trace function: a debugger's or
    coverage's stays on through a render."""
    from emergence_laws.tasks.template_budget import BudgetedTemplate, task_template_env

    seen = []

    def tracer(frame, event, arg):
        seen.append(event)

    before = sys.gettrace()
    sys.settrace(tracer)
    try:
        out = BudgetedTemplate(task_template_env(), "{% for i in range(3) %}{{ i }}{% endfor %}").render({})
        after = sys.gettrace()
    finally:
        sys.settrace(before)
    assert out == "012" and after is tracer and "call" in seen


def test_lmeval_yaml_renders_once_until_its_files_change(tmp_path):
    """`emergence eval` renders a task's templates before importing torch and loads it again after: the
    second load reuses the first; an edited data file (or YAML) is rendered anew."""
    y = _yaml(tmp_path, 'output_type: generate_until\ndoc_to_text: "{{q}} ="\ndoc_to_target: ans\n')
    first = load_task(y)
    assert load_task(y).test is first.test
    _jsonl(tmp_path / "test.jsonl", [{"q": "3+3", "ans": "6"}, {"q": "4+4", "ans": "8"}])
    again = load_task(y)
    assert again.test is not first.test and again.test[0] == Example(prompt="3+3 =", target="6")


def test_lmeval_yaml_source_is_read_without_rendering(tmp_path):
    """`read_lmeval_source` checks keys and splits but renders nothing (what status/--dry-run use)."""
    from emergence_laws.tasks.lmeval_yaml import read_lmeval_source

    y = _yaml(tmp_path, "output_type: generate_until\ndoc_to_text: '{{ missing_field }}'\ndoc_to_target: ans\n")
    src = read_lmeval_source(y)
    assert (src.name, src.test_split, src.train_split) == ("arith", "test", "train")
    with pytest.raises(InputError, match="missing_field"):
        load_task(y)


def test_lmeval_yaml_include_cycle_and_binary_file(tmp_path):
    y = tmp_path / "a.yaml"
    y.write_text("include: a.yaml\ntask: x\n")
    with pytest.raises(InputError, match="includes itself"):
        load_task(y)
    b = tmp_path / "b.yaml"
    b.write_bytes(bytes(range(256)))
    with pytest.raises(InputError, match="not a UTF-8 text file"):
        load_task(b)


def test_lmeval_yaml_hub_dataset_is_refused(tmp_path):
    y = tmp_path / "hub.yaml"
    y.write_text("task: x\ndataset_path: cais/mmlu\ntest_split: test\ndoc_to_text: q\ndoc_to_target: a\n")
    with pytest.raises(InputError, match="dataset_path: json"):
        load_task(y)


def _task(n=8):
    train = tuple(Example(prompt=f"p{i}", target=f"t{i}") for i in range(n))
    return TaskSpec("toy", "generation", train, train[:2], fewshot_delimiter="\n##\n", target_delimiter=" => ")


def test_fewshot_context_format_determinism_and_query_exclusion():
    t = _task()
    q = t.train[0]
    assert build_fewshot_context(t, q, shots=0) == "p0"
    ctx = build_fewshot_context(t, q, shots=3, seed=5)
    assert ctx == build_fewshot_context(t, q, shots=3, seed=5)
    parts = ctx.split("\n##\n")
    assert len(parts) == 4 and parts[-1] == "p0"
    assert all(" => " in p and p != "p0 => t0" for p in parts[:3])
    assert len(set(parts[:3])) == 3
    seeds = {build_fewshot_context(t, q, shots=3, seed=s) for s in range(6)}
    assert len(seeds) > 1
    assert "p0 => t0" not in build_fewshot_context(t, q, shots=7, seed=0)
    with pytest.raises(InputError, match="only 7 training examples"):
        build_fewshot_context(t, q, shots=8)
