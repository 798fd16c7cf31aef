"""Study config: YAML -> validated dataclasses; one-line errors naming the key and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from emergence_laws.study import (
    Checkpoint,
    FewshotGrid,
    FinetuneGrid,
    ReferenceText,
    StudyConfig,
    TaskSource,
    load_study,
    study_from_dict,
)
from emergence_laws.errors import ConfigError
from emergence_laws.testing.study_files import write_task
from tests.study_support import fake_job

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    from emergence_laws.testing.tiny_models import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("ck") / "m", arch="llama", hidden=16)


@pytest.fixture
def base(tmp_path, ckpt):
    write_task(tmp_path / "task.jsonl")
    (tmp_path / "ref.txt").write_text("hello world " * 20)
    return {"ladder": [{"path": str(ckpt)}], "task": "task.jsonl", "reference": "ref.txt",
            "finetune": {"n_train": [2, 4]}}


def load(tmp_path, data) -> StudyConfig:
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump(data))
    return load_study(p)


def error(tmp_path, data) -> str:
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, data)
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_minimal_config_gets_defaults_and_resolves_paths(tmp_path, base):
    cfg = load(tmp_path, base)
    assert cfg.name == "study" and cfg.store_path == tmp_path / "study.db"
    assert cfg.task.path == str(tmp_path / "task.jsonl") and cfg.reference.path == str(tmp_path / "ref.txt")
    assert cfg.fewshot == FewshotGrid(shots=(0,), seeds=(0,))
    assert cfg.finetune.n_train == (2, 4) and cfg.finetune.seeds == (0, 1) and cfg.finetune.method == "full"
    assert cfg.finetune.learning_rate == 1e-4 and cfg.executor.kind == "local" and cfg.executor.workers == 1
    assert cfg.ladder[0].model_id == "m" and cfg.ladder[0].is_local


def test_yaml_forms_seeds_counts_scalars_and_scientific_notation(tmp_path, base):
    cfg = load(tmp_path, {**base, "fewshot": {"shots": 5, "seeds": [3, 7]},
                          "finetune": {"n_train": [8], "seeds": 3, "method": "lora", "lr": "1e-3"},
                          "executor": "ray"})
    assert cfg.fewshot.shots == (5,) and cfg.fewshot.seeds == (3, 7)
    assert cfg.finetune.seeds == (0, 1, 2) and cfg.finetune.lr == 1e-3  # YAML reads 1e-3 as a string
    assert cfg.finetune.hyperparameters()["lora_rank"] == 8 and cfg.executor.kind == "ray"


def test_hub_ids_revisions_and_tokens_per_step(tmp_path, base):
    cfg = load(tmp_path, {**base, "ladder": {
        "defaults": {"family": "pythia", "tokens_per_step": 2097152},
        "checkpoints": [{"path": "EleutherAI/pythia-70m-deduped", "revision": "step3000"},
                        {"path": "EleutherAI/pythia-70m-deduped", "revision": "step143000"},
                        {"path": "EleutherAI/pythia-160m-deduped", "tokens": 1e9, "params": 1.6e8}]}})
    a, b, c = cfg.ladder
    assert not a.is_local and a.model_id == "EleutherAI/pythia-70m-deduped@step3000"
    assert a.step == 3000 and a.pretrain_tokens == 3000 * 2097152 and a.family == "pythia"
    assert b.pretrain_tokens == 143000 * 2097152
    assert c.pretrain_tokens == 1e9 and c.params == 160_000_000 and c.model_id == "EleutherAI/pythia-160m-deduped"


@pytest.mark.parametrize(("edit", "expected"), [
    ({"ladder": [{"path": "/x/nope"}]},
     "study.yaml: ladder[0].path: folder /x/nope does not exist; give a local HF checkpoint folder, a .gguf file or a hub id"),
    ({"ladder": []}, "study.yaml: ladder: is empty; list at least one checkpoint"),
    ({"task": "missing.jsonl"}, "task.path: file"),
    ({"reference": {"path": "ref.txt", "max_tokens": 0}}, "reference.max_tokens: 0 is not a positive integer"),
    ({"finetune": {"n_train": [2, "many"]}}, "finetune.n_train: 'many' is not an integer"),
    ({"finetune": {"n_train": [4, 4]}}, "finetune.n_train: [4, 4] repeats a value"),
    ({"finetune": {"n_train": [2], "method": "prefix"}}, "finetune.method: 'prefix' is not supported; use full or lora"),
    ({"finetune": {"n_train": [2], "lr": "fast"}}, "finetune.lr: 'fast' is not a number"),
    ({"finetune": {"n_train": [2], "sedes": 2}}, "finetune: unknown key 'sedes'; did you mean seeds?"),
    ({"fewshot": {"shots": [-1]}}, "fewshot.shots: -1 is not a non-negative integer"),
    ({"fewshot": {"shots": []}, "finetune": None}, "the study has no jobs"),
    ({"finetune": {"n_train": []}}, "finetune.n_train: missing or empty; list the data amounts"),
    ({"finetune": {"method": "lora"}}, "finetune.n_train: missing or empty"),
    ({"name": "../../x"}, "name: '../../x' is not a plain file name"),
    ({"name": ".."}, "name: '..' is not a plain file name"),
    ({"finetune": {"n_train": [2, 8], "train_shots": 2}},
     "finetune.train_shots: 2 demonstrations per training prompt need n_train > 2"),
    ({"eval": {"dtype": "int8"}}, "eval.dtype: 'int8'; use auto, float32, bfloat16 or float16"),
    ({"executor": {"kind": "local", "workers": 0}}, "executor.workers: 0 is not a positive integer"),
    ({"modle": 1}, "study.yaml: unknown key 'modle'"),
    ({"finetune": {"n_trian": [2, 4]}}, "study.yaml: finetune: unknown key 'n_trian'; did you mean n_train?"),
    ({"eval": {"device": "tpu"}}, "study.yaml: eval.device 'tpu': not a device; use auto, cpu, cuda, cuda:N or mps"),
    ({"eval": {"device": "cpu:1"}}, "eval.device 'cpu:1': not a device"),
    ({"ladder": ["./ckpts/small"]}, "ladder[0].path: folder ./ckpts/small does not exist"),
])
def test_errors_name_the_key_and_the_fix(tmp_path, base, edit, expected):
    assert expected in error(tmp_path, {**base, **edit})


def test_a_missing_local_folder_is_an_error_and_a_hub_id_stays_a_hub_id(tmp_path, base, ckpt):
    """A ladder entry that looks like a path (its first folder exists beside the YAML or beside the YAML's
    folder, or another entry under the same folder is a path) and does not exist is an error, never a
    hub id; `org/name` with nothing of that name nearby is a hub id."""
    from emergence_laws.study.ladder import hub_ids

    study = tmp_path / "configs"
    study.mkdir()
    for name in ("task.jsonl", "ref.txt"):
        shutil.copy(tmp_path / name, study / name)

    def load_in(folder, ladder):
        p = folder / "study.yaml"
        p.write_text(yaml.safe_dump({**base, "ladder": ladder}))
        return load_study(p)

    def refused(folder, ladder) -> str:
        with pytest.raises(ConfigError) as exc:
            load_in(folder, ladder)
        return str(exc.value)

    (study / "checkpoints").mkdir()  # the first folder exists beside the YAML
    assert "ladder[0].path: folder checkpoints/small does not exist (relative to" in refused(study, ["checkpoints/small"])
    (tmp_path / "models").mkdir()  # a sibling of the YAML's folder
    msg = refused(study, ["models/small"])
    assert "folder models/small does not exist" in msg and "did you mean ../models/small?" in msg, msg
    # examples/local_ladder.yaml's shape: nothing exists yet, but ladder[1] is a path, so ladder[0] is one too
    msg = refused(tmp_path, ["runs/small", {"path": "runs/large/step-2000", "name": "l2k"}])
    assert "ladder[0].path: folder runs/small does not exist" in msg, msg
    cfg = load_in(study, [str(ckpt), "EleutherAI/pythia-70m-deduped"])
    assert [ck.is_local for ck in cfg.ladder] == [True, False]
    assert hub_ids(cfg.ladder) == ["EleutherAI/pythia-70m-deduped"]


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1", "mps"])
def test_eval_device_names_are_checked_for_form_only(tmp_path, base, device):
    """The config reads anywhere; whether this machine has the device is `emergence run`'s check (local jobs)."""
    assert load(tmp_path, {**base, "eval": {"device": device}}).eval.device == device


def test_more_errors(tmp_path, base, ckpt):
    assert "has no config.json" in error(tmp_path, {**base, "ladder": [str(tmp_path)]})
    dup = error(tmp_path, {**base, "ladder": [str(ckpt), {"path": str(ckpt)}]})
    assert "ladder[1]: model id 'm' repeats ladder[0]; give each checkpoint a distinct `name`" in dup
    assert "missing key 'task'" in error(tmp_path, {"ladder": base["ladder"]})
    p = tmp_path / "bad.yaml"
    p.write_text("ladder: [a\ntask: x\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+ is not valid YAML"):
        load_study(p)
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        study_from_dict([1, 2])
    with pytest.raises(ConfigError, match="study YAML not found; give the path of a study YAML"):
        load_study(tmp_path / "nope.yaml")


def test_config_built_in_python_runs(tmp_path, ckpt):
    write_task(tmp_path / "task.jsonl")
    (tmp_path / "ref.txt").write_text("hello world " * 20)
    cfg = StudyConfig(ladder=[Checkpoint(str(ckpt), name="tiny", tokens=1e6)], task=TaskSource(str(tmp_path / "task.jsonl")),
                      reference=ReferenceText(str(tmp_path / "ref.txt")),
                      finetune=FinetuneGrid(n_train=(2,), seeds=(0, 1)), store=str(tmp_path / "py.db"))
    from emergence_laws.study import run_study

    df = run_study(cfg, job_fn=fake_job, progress=False)
    assert len(df) == (1 + 2) * 2 and set(df["model"]) == {"tiny"}
    with pytest.raises(ConfigError, match=r"<python>: finetune.method"):
        StudyConfig(ladder=cfg.ladder, task=cfg.task, finetune=FinetuneGrid(n_train=(2,), method="x")).validate()


def test_example_configs_load(tmp_path):
    from emergence_laws.testing.tiny_models import save_tiny_model

    pythia = load_study(EXAMPLES / "pythia_ladder.yaml")
    assert len(pythia.ladder) == 7 and not any(c.is_local for c in pythia.ladder)
    assert pythia.executor.kind == "ray" and pythia.executor.num_gpus == 1
    with pytest.raises(ConfigError, match=r"ladder\[0\]\.path: folder checkpoints/small does not exist"):
        load_study(EXAMPLES / "local_ladder.yaml")  # the user's folders are not there: an error, not hub ids
    assert pythia.finetune.method == "lora" and pythia.store_path == EXAMPLES / "results" / "pythia-addition.db"

    # the local example, with tiny checkpoints where it expects the user's folders
    shutil.copy(EXAMPLES / "local_ladder.yaml", tmp_path / "local_ladder.yaml")
    shutil.copytree(EXAMPLES / "data", tmp_path / "data")
    raw = yaml.safe_load((tmp_path / "local_ladder.yaml").read_text())
    for ck in raw["ladder"]:
        save_tiny_model(tmp_path / ck["path"], arch="llama", hidden=16)
    local = load_study(tmp_path / "local_ladder.yaml")
    assert [c.model_id for c in local.ladder] == ["small", "medium", "large-2k", "large-4k", "large-8k"]
    from emergence_laws.study import build_grid

    grid = build_grid(local)
    assert len(grid) == 5 * (1 + 2 + 4 * 2)
    assert local.store_path == tmp_path / "my-ladder.db"
