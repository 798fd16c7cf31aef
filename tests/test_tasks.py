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
     r"train\.jsonl:1: template"),
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
    assert "\n" not in msg and "train.jsonl:1: template" in msg, msg
    assert not (tmp_path / "PWNED").exists()


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
