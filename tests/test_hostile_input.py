"""Hostile and broken input through the CLI: one error line, exit 2 (bad input) or 3 (not identifiable),
no traceback, nothing run or half-written.

`BAD_INPUTS` is the one table of bad inputs. Every case runs through `emergence_laws.cli.main` in this
process (cheap); a sample also runs as real `python -m emergence_laws` subprocesses, and the hostile
task template runs through `status`, `run --dry-run` and `run` as subprocesses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest

from emergence_laws.cli import main
from emergence_laws.testing.study_files import write_task
from tests.conftest import HANG_GUARD_S

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
EXAMPLE = str(files("emergence_laws") / "data" / "example_results.csv")
HOSTILE = "{{ cycler.__init__.__globals__.os.system('touch PWNED') }}{{q}}"
#: an output path that cannot be created on any OS: its "folder" is a regular file
UNWRITABLE = "{d}/binary.csv/sub/out"

#: the issue's template bombs: name -> (doc_to_text, the limit the error line names)
TEMPLATE_BOMBS = {
    "pow-chain": ("{{ (((((9**64)**64)**64)**64)**64) }}", "an integer of about 12,992 bits"),
    "center": ("{{ q|center(1000000000) }}", "center gives a string"),
    "printf-width": ("{{ '%0999999999d' % 1 }}", "the format '%0999999999d' gives a string"),
    "format-width": ("{{ '{:>999999999}'.format(1) }}", "str.format gives a string"),
    "indent": ("{{ q|indent(999999999) }}", "indent gives a string"),
    "nested-range": ("{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}",
                     "more than 1,000,000 steps"),
    "concat-chain": ("{% set a = q * 100000 %}{{ a" + " ~ a" * 3000 + " }}", "a text of more than 1,000,000"),
    "deep-parens": ("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "is nested too deeply"),
}

# (id, argv, exit code, phrase in the error line, a path that must not exist afterwards or None)
BAD_INPUTS = [
    # outputs are checked before any work
    ("report-out-unwritable", ["report", "{d}/fitdir", "--out", UNWRITABLE + ".html"], 2, "--out", None),
    ("report-kind-mismatch", ["report", "{d}/fitdir", "--kind", "detect"], 2, "holds a fit result, not detect",
     "{d}/fitdir/report.html"),
    ("report-missing", ["report", "{d}/nope"], 2, "no such file or folder", None),
    ("run-store-unwritable", ["run", "{d}/study.yaml", "--store", UNWRITABLE + ".db"], 2, "--store", None),
    ("run-store-key-unwritable", ["run", "{d}/badstore.yaml"], 2, "store {d}/binary.csv/sub/out.db", None),
    ("run-export-unwritable", ["run", "{d}/study.yaml", "--export", UNWRITABLE + ".csv"], 2, "--export",
     "{d}/tiny.db"),
    ("run-export-suffix", ["run", "{d}/study.yaml", "--export", "{d}/x.xlsx"], 2, "unknown file type '.xlsx'",
     "{d}/tiny.db"),
    ("fit-out-unwritable", ["fit", EXAMPLE, "--out", UNWRITABLE], 2, "--out", None),
    ("detect-out-unwritable", ["detect", EXAMPLE, "--out", UNWRITABLE], 2, "--out", None),
    ("eval-store-unwritable", ["eval", "{d}/ck", "{d}/task.jsonl", "--store", UNWRITABLE + ".db"], 2, "--store",
     None),
    ("demo-out-unwritable", ["demo", "--out", UNWRITABLE], 2, "--out", None),
    # unreadable, binary or misplaced input files
    ("run-binary-yaml", ["run", "{d}/binary.yaml", "--dry-run"], 2, "not a UTF-8 text file", None),
    ("status-binary-yaml", ["status", "{d}/binary.yaml"], 2, "not a UTF-8 text file", None),
    ("run-folder-as-yaml", ["run", "{d}/fitdir", "--dry-run"], 2, "is a folder, not a study YAML", None),
    ("status-missing", ["status", "{d}/nope.yaml"], 2, "study YAML not found", None),
    ("validate-scales-binary", ["validate", "{d}/lm/results.json", "--scales", "{d}/binary.csv"], 2,
     "not a UTF-8 text file", None),
    ("validate-scales-folder", ["validate", "{d}/lm/results.json", "--scales", "{d}/fitdir"], 2, "is a folder", None),
    ("validate-no-scales", ["validate", "{d}/lm/results.json"], 2, "pass --scales FILE", None),
    ("detect-scales-missing", ["detect", EXAMPLE, "--scales", "{d}/nonexistent.csv"], 2, "scales table not found",
     None),
    ("detect-scales-on-csv", ["detect", EXAMPLE, "--scales", "{d}/scales.csv"], 2, "applies to lm-eval JSON only",
     None),
    ("validate-binary-csv", ["validate", "{d}/binary.csv"], 2, "not UTF-8", None),
    ("fit-empty-csv", ["fit", "{d}/empty.csv"], 2, "the file is empty", None),
    ("fit-missing", ["fit", "{d}/nope.csv"], 2, "no such file", None),
    ("fit-fake-sqlite", ["fit", "{d}/fake.db"], 2, "not a SQLite database", None),
    ("predict-law-missing", ["predict", "--law", "{d}/nope.json", "--loss", "3"], 2, "no such file", None),
    ("predict-law-not-json", ["predict", "--law", EXAMPLE, "--loss", "3"], 2, "not valid JSON", None),
    ("predict-law-folder", ["predict", "--law", "{d}/fitdir", "--loss", "3"], 2, "cannot read it", None),
    # study configs
    ("run-name-escapes", ["run", "{d}/escape.yaml", "--dry-run"], 2, "is not a plain file name", None),
    ("run-empty-n-train", ["run", "{d}/empty_n_train.yaml", "--dry-run"], 2, "finetune.n_train: missing or empty",
     None),
    ("run-unknown-key", ["run", "{d}/typo.yaml", "--dry-run"], 2, "did you mean finetune?", None),
    ("run-yaml-alias-bomb", ["run", "{d}/bomb.yaml", "--dry-run"], 2, "expands to more than", None),
    ("run-yaml-too-deep", ["run", "{d}/deep.yaml", "--dry-run"], 2, "nested too deeply", None),
    ("run-num-gpus-nan", ["run", "{d}/study.yaml", "--num-gpus", "nan", "--dry-run"], 2, "give finite numbers",
     None),
    ("run-tokens-inf", ["run", "{d}/tokens_inf.yaml", "--dry-run"], 2, "tokens: inf is not a finite positive number",
     None),
    # option values: negative numbers are values; nan/inf are refused
    ("predict-loss-negative", ["predict", "--law", "{d}/law.json", "--loss", "-1"], 2, "--loss -1", None),
    ("predict-loss-minus-inf", ["predict", "--law", "{d}/law.json", "--loss", "-inf"], 2, "--loss -inf", None),
    ("predict-loss-minus-exp", ["predict", "--law", "{d}/law.json", "--loss", "3", "-1e3"], 2, "--loss -1000",
     None),
    ("predict-n-train-nan", ["predict", "--law", "{d}/law.json", "--loss", "3", "--n-train", "nan"], 2,
     "--n-train nan", None),
    ("predict-n-train-fraction", ["predict", "--law", "{d}/law.json", "--loss", "3", "--n-train", "0.5"], 2,
     "0 (few-shot) or >= 1", None),
    ("backtest-cutoff-above-all", ["backtest", EXAMPLE, "--task", "mc4_reasoning", "--cutoff-loss", "100"], 2,
     "lower the cutoff", None),
    ("backtest-cutoff-below-all", ["backtest", EXAMPLE, "--task", "mc4_reasoning", "--cutoff-loss", "-1"], 2,
     "nothing emergent is held out to predict; raise the cutoff", None),
    ("backtest-cutoff-nan", ["backtest", EXAMPLE, "--task", "mc4_reasoning", "--cutoff-loss", "nan"], 2,
     "not a finite number", None),
    ("backtest-cutoff-inf", ["backtest", EXAMPLE, "--task", "mc4_reasoning", "--cutoff-loss", "inf"], 2,
     "not a finite number", None),
    ("backtest-cutoff-minus-inf", ["backtest", EXAMPLE, "--task", "mc4_reasoning", "--cutoff-loss", "-inf"], 2,
     "not a finite number", None),
    ("backtest-sigmoid-cutoff-below-all", ["backtest", EXAMPLE, "--task", "mc4_reasoning", "--baseline", "sigmoid",
                                           "--cutoff-loss", "-1"], 2, "nothing emergent is held out", None),
    ("backtest-sigmoid-cutoff-too-high", ["backtest", EXAMPLE, "--task", "mc4_reasoning", "--baseline", "sigmoid",
                                          "--cutoff-loss", "4"], 2, "3+ are needed to fit; lower the cutoff", None),
    ("fit-task-missing", ["fit", EXAMPLE, "--task", "nope"], 2, "task 'nope' is not in the table", None),
    ("fit-bootstrap-negative", ["fit", EXAMPLE, "--bootstrap", "-3"], 2, "--bootstrap -3 is negative", None),
    ("fit-d0-negative", ["fit", EXAMPLE, "--d0", "-1", "--bootstrap", "0"], 2, "d0", None),
    ("fit-seed-negative", ["fit", EXAMPLE, "--seed", "-1", "--bootstrap", "5"], 2, "--seed -1 is negative", None),
    ("fit-empty-path", ["fit", ""], 2, "the results path is empty", None),
    ("predict-law-overflows", ["predict", "--law", "{d}/overflow.json", "--loss", "3", "--n-train", "5"], 2,
     "law parameter alpha = 1e+308 is implausibly large", None),
    ("demo-seed-negative", ["demo", "--seed", "-1", "--out", "{d}/demo"], 2, "--seed", "{d}/demo"),
    ("demo-threads-zero", ["demo", "--threads", "0", "--out", "{d}/demo"], 2, "--threads 0: not a positive", None),
    # usage errors are one line too
    ("usage-missing-option", ["predict", "--loss", "3"], 2, "required: --law", None),
    ("usage-bad-int", ["fit", EXAMPLE, "--bootstrap", "x"], 2, "invalid int value", None),
    ("usage-bad-choice", ["detect", EXAMPLE, "--x", "volume"], 2, "invalid choice", None),
    # not identifiable: exit 3
    ("fit-few-shot-only", ["fit", "{d}/fewshot.csv"], 3, "no finetuned rows", None),
    # --- issue 28 ---
    # task templates that ask for too much: each refused within its render budget, before any job
    *[(f"template-{name}", ["run", f"{{d}}/tpl-{name}/study.yaml", "--no-progress"], 2, phrase,
       f"{{d}}/tpl-{name}/study.db") for name, (_, phrase) in TEMPLATE_BOMBS.items()],
    # devices this machine lacks (subprocesses run with CUDA_VISIBLE_DEVICES="")
    ("eval-device-cuda", ["eval", "{d}/ck", "{d}/task.jsonl", "--device", "cuda"], 2,
     "--device cuda: this machine has no CUDA device", None),
    ("eval-device-cuda-99", ["eval", "{d}/ck", "{d}/task.jsonl", "--device", "cuda:99"], 2, "available here: cpu", None),
    ("eval-device-mps", ["eval", "{d}/ck", "{d}/task.jsonl", "--device", "mps"], 2,
     "--device mps: this machine has no Apple MPS device", None),
    ("eval-device-name", ["eval", "{d}/ck", "{d}/task.jsonl", "--device", "tpu"], 2,
     "--device 'tpu': not a device; use auto, cpu, cuda, cuda:N or mps", None),
    ("run-eval-device-cuda", ["run", "{d}/cuda.yaml", "--dry-run"], 2, "eval.device cuda: this machine has no CUDA", None),
    # law files that are corrupt, and losses that are none
    ("predict-law-C-huge", ["predict", "--law", "{d}/law_C_huge.json", "--loss", "3"], 2,
     "law parameter C = 1e+308 is no loss", None),
    ("predict-law-alpha-negative", ["predict", "--law", "{d}/law_alpha_negative.json", "--loss", "3"], 2,
     "law parameter alpha = -0.5 must be > 0", None),
    ("predict-law-k-negative", ["predict", "--law", "{d}/law_k_negative.json", "--loss", "3"], 2,
     "law parameter k = -0.2 must be >= 0", None),
    ("predict-law-disagrees-with-draws", ["predict", "--law", "{d}/law_shifted.json", "--loss", "3"], 2,
     "outside its own bootstrap draws", None),
    ("predict-law-bad-draw", ["predict", "--law", "{d}/law_bad_draw.json", "--loss", "3"], 2,
     "draws.params[3]: alpha = -1 must be > 0", None),
    ("predict-loss-absurd", ["predict", "--law", "{d}/law.json", "--loss", "1e308"], 2,
     "--loss 1e+308: not a pretraining loss", None),
    # a ladder entry that looks like a path and is not there is no hub id
    ("status-missing-local-folder", ["status", "{d}/ladder/study.yaml"], 2,
     "ladder[0].path: folder checkpoints/small does not exist", None),
    ("run-dry-run-missing-local-folder", ["run", "{d}/ladder/study.yaml", "--dry-run"], 2,
     "ladder[0].path: folder checkpoints/small does not exist", None),
    # impossible tables
    ("validate-absurd-loss", ["validate", "{d}/hugeloss.csv"], 2, "4.3e+300 is out of range", None),
    ("fit-absurd-loss", ["fit", "{d}/hugeloss.csv"], 2, "4.3e+300 is out of range", None),
    ("validate-zero-flops", ["validate", "{d}/zeroflops.csv"], 2, "column 'flops' is 0 on every row", None),
    # the smaller items
    ("eval-extract-bad-regex", ["eval", "{d}/ck", "{d}/task.jsonl", "--extract", "("], 2,
     "--extract '(': not a valid regex", None),
    ("eval-extract-on-multiple-choice", ["eval", "{d}/ck", "{d}/task.jsonl", "--extract", "[0-9]+"], 2,
     "is a multiple-choice task", None),
    ("run-dry-run-extract-on-multiple-choice", ["run", "{d}/extract_mc.yaml", "--dry-run"], 2,
     "task.extract '[0-9]+'", None),
    ("run-dry-run-store-unwritable", ["run", "{d}/study.yaml", "--store", UNWRITABLE + ".db", "--dry-run"], 2,
     "--store", None),
    ("run-dry-run-export-suffix", ["run", "{d}/study.yaml", "--export", "{d}/x.xlsx", "--dry-run"], 2,
     "unknown file type '.xlsx'", None),
    ("run-n-train-typo", ["run", "{d}/n_trian.yaml", "--dry-run"], 2, "unknown key 'n_trian'; did you mean n_train?",
     None),
    ("fit-too-few-checkpoints", ["fit", "{d}/one_checkpoint.csv"], 3, "one checkpoint", None),
    ("fit-sigmoid-too-few-checkpoints", ["fit", "{d}/two_checkpoints.csv", "--baseline", "sigmoid"], 3,
     "for 3+ checkpoints", None),
    ("backtest-sigmoid-too-few-checkpoints", ["backtest", "{d}/two_checkpoints.csv", "--task", "mc4_reasoning",
                                              "--baseline", "sigmoid", "--cutoff-loss", "3"], 3, "for 3+ checkpoints",
     None),
]


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory) -> Path:
    """Every file the table refers to as {d}/..."""
    d = tmp_path_factory.mktemp("bad")
    blob = bytes(range(256)) * 4
    (d / "binary.csv").write_bytes(blob)
    (d / "binary.yaml").write_bytes(blob)
    (d / "empty.csv").write_text("")
    (d / "fake.db").write_text("model,task\n")
    (d / "scales.csv").write_text("model,pretrain_loss\nm1,3.0\n")
    (d / "lm").mkdir()
    (d / "lm" / "results.json").write_text(json.dumps({"results": {"arith": {"acc,none": 0.3}},
                                           "config": {"model_args": "pretrained=m1"}}))
    (d / "law.json").write_text(json.dumps({"law": {"form": "logpower", "params": {"k": 0.1, "alpha": 1, "C": 2.5,
                                                                                     "A": 0.5, "B": 0.25}}}))
    (d / "overflow.json").write_text(json.dumps({"law": {"params": {"k": 1e308, "alpha": 1e308, "C": 0, "A": 1,
                                                                      "B": 0}}}))
    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10**9 values
    (d / "bomb.yaml").write_text("\n".join(bomb) + "\n")
    (d / "deep.yaml").write_text("a: " + "[" * 100_000 + "\n")
    ex = pd.read_csv(EXAMPLE)
    ex[ex.n_train == 0].to_csv(d / "fewshot.csv", index=False)
    assert main(["fit", EXAMPLE, "--bootstrap", "0", "--out", str(d / "fitdir")]) == 0
    (d / "ck").mkdir()
    (d / "ck" / "config.json").write_text("{}")  # a stub: no case may get as far as loading it
    write_task(d / "task.jsonl")
    good = {"name": "tiny", "ladder": ["ck"], "task": "task.jsonl", "fewshot": {"shots": [0]},
            "finetune": {"n_train": [2, 4], "seeds": 2}}
    for name, edit in {"study": {}, "badstore": {"store": str(d / "binary.csv" / "sub" / "out.db")},
                       "escape": {"name": "../../x"}, "empty_n_train": {"finetune": {"n_train": []}},
                       "typo": {"finetun": {}}, "tokens_inf": {"ladder": [{"path": "ck", "tokens": float("inf")}]},
                       "cuda": {"eval": {"device": "cuda"}}, "extract_mc": {"task": {"path": "task.jsonl",
                                                                                    "extract": "[0-9]+"}},
                       "n_trian": {"finetune": {"n_trian": [2, 4], "seeds": 2}},
                       }.items():
        (d / f"{name}.yaml").write_text(json.dumps({**good, **edit}))  # JSON is YAML
    for name, (template, _) in TEMPLATE_BOMBS.items():
        write_template_study(d / f"tpl-{name}", template)
    (d / "ladder" / "checkpoints").mkdir(parents=True)  # the folder is there, the checkpoint is not
    write_task(d / "ladder" / "task.jsonl")
    (d / "ladder" / "study.yaml").write_text(json.dumps({**good, "ladder": ["checkpoints/small"]}))
    # impossible tables and tables too small to identify anything
    ex.assign(flops=0.0).to_csv(d / "zeroflops.csv", index=False)
    ex.assign(pretrain_loss=ex["pretrain_loss"].where(ex["model"] != "ladder-5M", 4.3e300)).to_csv(
        d / "hugeloss.csv", index=False)
    models = sorted(ex["model"].unique())
    ex[ex["model"] == models[0]].to_csv(d / "one_checkpoint.csv", index=False)
    ex[ex["model"].isin(models[:2])].to_csv(d / "two_checkpoints.csv", index=False)
    # law files: a sound one with bootstrap draws, and corrupt copies of it
    assert main(["fit", EXAMPLE, "--bootstrap", "20", "--out", str(d / "fitboot")]) == 0
    sound = json.loads((d / "fitboot" / "prediction.json").read_text())

    def corrupt(name, edit):
        obj = json.loads(json.dumps(sound))
        edit(obj)
        (d / f"law_{name}.json").write_text(json.dumps(obj))

    corrupt("C_huge", lambda o: o["law"]["params"].update(C=1e308))
    corrupt("alpha_negative", lambda o: o["law"]["params"].update(alpha=-0.5))
    corrupt("k_negative", lambda o: o["law"]["params"].update(k=-0.2))
    corrupt("shifted", lambda o: o["law"]["params"].update(C=o["law"]["params"]["C"] + 0.5))
    corrupt("bad_draw", lambda o: o["draws"]["params"][3].__setitem__(1, -1.0))
    return d


def write_template_study(root: Path, template: str) -> Path:
    """A study whose lm-eval task YAML renders `template` as doc_to_text (the checkpoint is a stub)."""
    (root / "ck").mkdir(parents=True)
    (root / "ck" / "config.json").write_text("{}")
    rows = [{"q": f"{i}+1", "ans": str(i + 1)} for i in range(4)]
    for split in ("train", "test"):
        (root / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (root / "task.yaml").write_text(
        "task: t\ndataset_path: json\ndataset_kwargs: {data_files: {train: train.jsonl, test: test.jsonl}}\n"
        f"test_split: test\ntraining_split: train\noutput_type: generate_until\ndoc_to_text: {json.dumps(template)}\n"
        "doc_to_target: ans\n")
    (root / "study.yaml").write_text("ladder: [ck]\ntask: task.yaml\nfewshot: {shots: [0]}\n"
                                     "finetune: {n_train: [2], seeds: 1}\n")
    return root / "study.yaml"


def _device_present(phrase: str) -> bool:
    """Whether this process can see the device a case says is missing (CUDA, MPS)."""
    if "no CUDA device" not in phrase and "no Apple MPS" not in phrase:
        return False
    import torch

    if "no CUDA device" in phrase:
        return torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _fill(items, d: Path) -> list[str]:
    return [str(a).replace("{d}", str(d)) for a in items]


@pytest.mark.parametrize(("argv", "code", "phrase", "absent"), [c[1:] for c in BAD_INPUTS],
                         ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_gives_one_error_line(bad_dir, capsys, argv, code, phrase, absent):
    args = _fill(argv, bad_dir)
    if _device_present(phrase):
        pytest.skip("this machine has the device (the subprocess cases hide CUDA)")
    try:
        rc = main(args)
    except SystemExit as exc:  # argparse usage errors exit from parse_args
        rc = exc.code
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert rc == code, err
    assert len(lines) == 1 and lines[0].startswith(f"emergence {args[0]}: error: "), err
    assert _fill([phrase], bad_dir)[0] in lines[0], lines[0]
    assert out == "" and "Traceback" not in err
    assert absent is None or not Path(_fill([absent], bad_dir)[0]).exists()


def test_predict_stays_inside_the_metric_bounds_and_warns_far_outside_the_fitted_amounts(bad_dir, capsys):
    law = str(bad_dir / "fitdir" / "prediction.json")  # accuracy, fitted on n_train 16..1024
    assert main(["predict", "--law", law, "--loss", "2.8", "1.0", "--n-train", "1e30", "--json"]) == 0
    out, err = capsys.readouterr()
    res = json.loads(out)
    assert res["metric"] == "accuracy" and all(0.0 <= v <= 1.0 for v in res["predicted"])
    assert res["predicted"][0] == 1.0  # the ReLU law alone would give ~8
    assert any("far outside its fitted D range" in w for w in res["warnings"])
    assert any("outside the range of accuracy [0, 1]" in w for w in res["warnings"])
    assert err.count("warning: ") == len(res["warnings"])
    assert main(["predict", "--law", law, "--loss", "2.8", "--n-train", "64"]) == 0  # inside: no warning
    out, err = capsys.readouterr()
    assert err == "" and "predicted 0." in out


def test_predict_reports_a_lower_is_better_metric_in_its_own_units(bad_dir, capsys, tmp_path):
    """A law fitted on error (= 1 - accuracy) predicts error, inside [0, 1], mirroring accuracy's law."""
    ex = pd.read_csv(EXAMPLE)
    ex = ex.assign(value=1 - ex["value"], chance=1 - ex["chance"], metric="error")
    ex.to_csv(tmp_path / "error.csv", index=False)
    assert main(["fit", str(tmp_path / "error.csv"), "--bootstrap", "0", "--out", str(tmp_path / "fit")]) == 0
    capsys.readouterr()
    got = {}
    for name, law in (("error", tmp_path / "fit" / "prediction.json"), ("accuracy", bad_dir / "fitdir" / "prediction.json")):
        assert main(["predict", "--law", str(law), "--loss", "3.5", "2.8", "1.0", "--json"]) == 0
        got[name] = json.loads(capsys.readouterr().out)["predicted"]
    assert all(0.0 <= v <= 1.0 for v in got["error"])
    assert got["error"] == pytest.approx([1 - a for a in got["accuracy"]], abs=1e-6)
    assert got["error"][2] == 0.0  # the strong model's error is clipped at the bound, not negative


#: cases that also run as real processes: the entry point, its exit status and its stderr (all of issue 28's)
SUBPROCESS_CASES = ("run-binary-yaml", "report-out-unwritable", "predict-loss-minus-inf", "backtest-cutoff-nan",
                    "validate-scales-binary", "usage-missing-option",
                    *[c[0] for c in BAD_INPUTS[[c[0] for c in BAD_INPUTS].index("template-pow-chain"):]])
#: subprocesses see no CUDA device, so the device cases hold on a GPU machine too
NO_CUDA = {**ENV, "CUDA_VISIBLE_DEVICES": ""}


def test_bad_input_through_real_processes(bad_dir):
    cases = {c[0]: c for c in BAD_INPUTS if c[0] in SUBPROCESS_CASES}
    assert len(cases) == len(SUBPROCESS_CASES)
    procs = {name: subprocess.Popen([sys.executable, "-m", "emergence_laws", *_fill(c[1], bad_dir)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=NO_CUDA)
             for name, c in cases.items() if not (name == "eval-device-mps" and _device_present(c[3]))}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=HANG_GUARD_S)
        lines = err.strip().splitlines()
        assert proc.returncode == cases[name][2], (name, err)
        assert len(lines) == 1 and lines[0].startswith(f"emergence {cases[name][1][0]}: error: "), (name, err)
        assert _fill([cases[name][3]], bad_dir)[0] in lines[0], (name, lines[0])
        assert out == "" and "Traceback" not in err, (name, err)
        assert len(lines[0]) <= 300, (name, len(lines[0]))  # a long message is cut to a readable line


def test_unwritable_proc_path_on_linux(bad_dir, capsys):
    """The issue's own paths: /proc refuses new folders even to root."""
    if not Path("/proc/self").exists():
        pytest.skip("no /proc on this OS")
    assert main(["report", str(bad_dir / "fitdir"), "--out", "/proc/nope/x.html"]) == 2
    assert main(["run", str(bad_dir / "study.yaml"), "--export", "/proc/nope/x.csv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(e.startswith(("emergence report: error: --out", "emergence run: error: --export"))
                                 for e in err), err


def write_hostile_study(root: Path) -> Path:
    """A study whose lm-eval task YAML carries a shell command in a template (the checkpoint is a stub:
    nothing may get as far as loading it)."""
    return write_template_study(root, HOSTILE)


def test_template_in_a_task_file_runs_nothing_in_status_dry_run_or_run(tmp_path):
    study = write_hostile_study(tmp_path)

    def emergence(*args) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "emergence_laws", *map(str, args)], capture_output=True,
                              text=True, timeout=HANG_GUARD_S, env=ENV, cwd=tmp_path, check=False)

    for args in (("status", study), ("run", study, "--dry-run")):  # these render no template at all
        res = emergence(*args)
        assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
        assert "0/3 jobs done" in res.stdout
    res = emergence("run", study, "--no-progress")  # renders, sandboxed, before any job
    err = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(err) == 1, res.stderr
    assert err[0].startswith("emergence run: error: ") and "is refused" in err[0] and "sandboxed" in err[0]
    assert not (tmp_path / "PWNED").exists()
    assert not (tmp_path / "study.db").exists()  # nothing half-written


#: peak resident memory a refused template may cost a whole `emergence run` process (issue 28: < 300 MB)
TEMPLATE_RSS_CAP_MB = 300

_MEASURED = """import json, resource, subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": p.returncode, "out": p.stdout, "err": p.stderr,
                  "peak_mb": peak / 2**20 if sys.platform == "darwin" else peak / 1024}))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="peak memory of a child process is read with `resource`")
def test_template_bombs_are_refused_in_small_processes(bad_dir):
    """Each of the issue's template bombs, as `emergence run` and `emergence eval` in their own processes: exit
    2, one line naming the task file and the field, and the process's peak memory (RSS) under the cap: the
    render stopped before building what it asked for (eval renders before it imports torch)."""
    def argv(cmd: str, root: Path) -> list[str]:
        return ["run", str(root / "study.yaml"), "--no-progress"] if cmd == "run" else ["eval", str(root / "ck"),
                                                                                         str(root / "task.yaml")]

    procs = {(cmd, name): subprocess.Popen([sys.executable, "-c", _MEASURED, sys.executable, "-m", "emergence_laws",
                                            *argv(cmd, bad_dir / f"tpl-{name}")], stdout=subprocess.PIPE, text=True,
                                           env=ENV)
             for cmd in ("run", "eval") for name in TEMPLATE_BOMBS}
    for (cmd, name), proc in procs.items():
        res = json.loads(proc.communicate(timeout=HANG_GUARD_S)[0])
        lines = res["err"].strip().splitlines()
        assert res["rc"] == 2 and len(lines) == 1, (cmd, name, res["err"])
        assert lines[0].startswith(f"emergence {cmd}: error: {bad_dir / f'tpl-{name}' / 'task.yaml'}: doc_to_text "
                                   "template"), (cmd, name, lines[0])
        assert TEMPLATE_BOMBS[name][1] in lines[0] and len(lines[0]) <= 300, (cmd, name, lines[0])
        assert res["peak_mb"] < TEMPLATE_RSS_CAP_MB, (cmd, name, res["peak_mb"])
        assert not (bad_dir / f"tpl-{name}" / "study.db").exists()


def test_predict_warns_for_a_loss_far_outside_what_the_law_covers(bad_dir, capsys):
    """A loss far from every loss the law covers (over 2x above, or below half) is predicted with a warning
    line; a sound law file with bootstrap draws passes its checks."""
    law = str(bad_dir / "fitboot" / "prediction.json")
    assert main(["predict", "--law", law, "--loss", "2.9", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and json.loads(out)["warnings"] == []
    assert main(["predict", "--law", law, "--loss", "9", "--json"]) == 0  # above: on the floor, one warning
    out, err = capsys.readouterr()
    assert err.count("warning: ") == 1 and "loss 9 lies far outside the losses the law covers" in err, err
    assert main(["predict", "--law", law, "--loss", "0.3", "--json"]) == 0  # below: the far warning among others
    res = json.loads(capsys.readouterr().out)
    assert any("loss 0.3 lies far outside" in w for w in res["warnings"]) and res["predicted"][0] <= 1.0


def test_status_and_dry_run_name_the_hub_ids(bad_dir, tmp_path):
    """`org/name` with nothing of that name nearby stays a hub id, and the listing says which entries are."""
    study = tmp_path / "hub.yaml"
    write_task(tmp_path / "task.jsonl")
    study.write_text(json.dumps({"ladder": [str(bad_dir / "ck"), "EleutherAI/pythia-70m-deduped"],
                                 "task": "task.jsonl", "fewshot": {"shots": [0]}}))
    for args in (["status", str(study)], ["run", str(study), "--dry-run"]):
        res = subprocess.run([sys.executable, "-m", "emergence_laws", *args], capture_output=True, text=True,
                             timeout=HANG_GUARD_S, env=ENV, check=False)
        assert res.returncode == 0 and res.stderr == "", res.stderr
        assert "hub ids (1 of 2 checkpoints" in res.stdout and res.stdout.rstrip().endswith(
            "EleutherAI/pythia-70m-deduped"), res.stdout
    assert json.loads(subprocess.run([sys.executable, "-m", "emergence_laws", "status", str(study), "--json"],
                                     capture_output=True, text=True, env=ENV, timeout=HANG_GUARD_S,
                                     check=True).stdout)["hub_ids"] == ["EleutherAI/pythia-70m-deduped"]


def test_no_library_warning_reaches_the_terminal(bad_dir, tmp_path):
    """fit, report, detect and validate print their own lines only: a figure whose labels need glyphs the font
    lacks (a task named in Chinese) says so once, not once per glyph through matplotlib."""
    ex = pd.read_csv(EXAMPLE)
    ex.assign(task="数学推理").to_csv(tmp_path / "cjk.csv", index=False)

    def emergence(*args) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "emergence_laws", *map(str, args)], capture_output=True,
                              text=True, timeout=HANG_GUARD_S, env=ENV, check=False)

    res = emergence("fit", tmp_path / "cjk.csv", "--bootstrap", "20", "--out", tmp_path / "fit")
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines() == [l for l in res.stderr.splitlines() if l.startswith("warning: ")], res.stderr
    assert sum("font has no glyphs" in line for line in res.stderr.splitlines()) == 1, res.stderr
    for args in (("report", tmp_path / "fit"), ("detect", tmp_path / "cjk.csv"), ("validate", tmp_path / "cjk.csv")):
        res = emergence(*args)
        assert res.returncode == 0 and "Warning" not in res.stderr, (args, res.stderr)


def test_no_progress_hides_the_weight_loading_bar(bad_dir, tmp_path):
    """transformers' own `Loading weights` bar follows --no-progress."""
    from emergence_laws.testing.tiny_models import save_tiny_model

    ck = save_tiny_model(tmp_path / "tiny", arch="llama", hidden=16)
    res = subprocess.run([sys.executable, "-m", "emergence_laws", "eval", str(ck), str(bad_dir / "task.jsonl"),
                          "--no-progress", "--limit", "2"], capture_output=True, text=True, timeout=HANG_GUARD_S,
                         env=ENV, check=False)
    assert res.returncode == 0, res.stderr
    assert "Loading weights" not in res.stderr and "it/s" not in res.stderr, res.stderr
