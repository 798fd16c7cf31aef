"""Checkpoint logs as open model projects publish them (run x step x task x metric), end to end.

The logs are generated here (emergence_laws/testing/checkpoint_logs.py) from known curves: several runs, step 0 at
random init with tokens = flops = 0, MC and cloze formats of one task, bits per byte, a run with
few checkpoints before its jump, a task flat only during warm-up, and a ``final`` step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from emergence_laws.analysis.table_detect import detect_table
from emergence_laws.analysis.table_fit import baseline_table, sigmoid_backtest_table
from emergence_laws.analysis.series import build_series, warmup_mask
from emergence_laws.cli import main
from emergence_laws.laws.curve_labels import DetectConfig, classify_curve
from emergence_laws.results import load_results, validate_table
from emergence_laws.testing.checkpoint_logs import L_INIT, MC_JUMP, RUNS, checkpoint_log, loss_at
from tests.conftest import HANG_GUARD_S


def emergence(*args: str) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess."""
    return subprocess.run([sys.executable, "-m", "emergence_laws", *args], capture_output=True, text=True,
                          timeout=HANG_GUARD_S, check=False)


@pytest.fixture
def cli(capsys):
    """The CLI's main() in this process (cheaper than a subprocess): returns (exit code, stdout, stderr)."""

    def run(*args: str) -> subprocess.CompletedProcess:
        code = main(list(args))
        out = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out.out, out.err)

    return run


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return validate_table(checkpoint_log(seed=0))


@pytest.fixture(scope="module")
def log_csv(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("log") / "checkpoints.csv"
    checkpoint_log(seed=0).to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="module")
def by_loss(log) -> dict:
    return detect_table(log, x="pretrain_loss")


def row(payload: dict, task: str, fmt: str, run: str, metric: str = "accuracy") -> dict:
    (r,) = [r for r in payload["series"] if r["task"] == task and r.get("format") == fmt and r["family"] == run
            and r["metric"] == metric]
    return r


# ---------------------------------------------------------------------------------------------
# 1. validation


def test_step_zero_with_zero_flops_validates_and_non_numeric_steps_load(log_csv):
    r = emergence("validate", log_csv)
    assert r.returncode == 0, r.stderr
    assert "4 runs" in r.stdout and "checkpoints" in r.stdout
    df = load_results(log_csv)
    init = df["step"].astype(str) == "0"
    assert (df.loc[init, "flops"] == 0).all() and (df.loc[init, "tokens"] == 0).all()
    assert "final" in set(df["step"].astype(str))


def test_only_the_rows_a_command_uses_are_checked(cli, tmp_path):
    df = checkpoint_log(seed=1)
    bad = df.index[df["task"] == "warmup_task"][3]
    df["value"] = df["value"].astype(object)
    df.loc[bad, "value"] = "n/a"  # a broken row of a task the command never reads
    path = tmp_path / "log.csv"
    df.to_csv(path, index=False)
    r = cli("detect", str(path), "--task", "qa", "--metric", "accuracy", "--json")
    assert r.returncode == 0, r.stderr
    r = cli("validate", str(path))
    assert r.returncode == 2 and "'n/a' is not a number" in r.stderr
    assert cli("validate", str(path), "--task", "qa").returncode == 0


# ---------------------------------------------------------------------------------------------
# 2. checkpoint tables: per run and pooled, any x


def test_detect_reads_runs_and_steps_per_run_and_pooled(by_loss):
    assert by_loss["group_by"] == "run"
    runs = {r["family"] for r in by_loss["series"]}
    assert runs == {*RUNS, "coarse", "(all)"}
    assert "format" in by_loss["curve_keys"]  # mc and cloze are separate curves
    for run in RUNS:
        r = row(by_loss, "qa", "mc", run)
        assert r["label"] == "emergent", r["reason"]
        assert r["n_random_init"] == 1  # step 0 stays out of detection
        for p in (r["last_at_chance"], r["first_above_chance"]):
            assert p["model"] == run and p["step"] not in (None, "0")


@pytest.mark.parametrize("x", ["step", "tokens", "flops"])
def test_log_axes_drop_random_init_and_say_so(log, x):
    p = detect_table(log, x=x, task="qa", metric="accuracy", config=DetectConfig(n_boot=0))
    assert any(f"{x} = 0 (random init)" in w for w in p["warnings"])
    for r in p["series"]:
        assert r["x_min"] > 0
    if x == "step":  # "final" has no place on the step axis: dropped, counted, said
        assert any("step final is not a number" in w for w in p["warnings"])
        assert all(r["n_dropped"] >= 1 for r in p["series"] if r["family"] != "(all)")
    for run in RUNS:
        assert row(p, "qa", "mc", run)["label"] == "emergent"


def test_final_step_is_a_checkpoint_on_the_loss_axis(log):
    (s,) = [s for s in build_series(log, "pretrain_loss", group="family")
            if s.key["family"] == "run-1b" and s.key["task"] == "qa" and s.key["metric"] == "bpb"]
    assert "final" in list(s.step) and "0" in list(s.step)
    assert "run-1b@final" in set(s.ids)
    assert s.init.sum() == 1 and s.xval[s.init][0] == pytest.approx(L_INIT, abs=1e-4)


def test_params_cannot_order_checkpoints(log):
    with pytest.raises(Exception, match="does not change along a run"):
        detect_table(log, x="params")


def test_old_refusal_is_gone_and_messages_carry_no_numpy_repr(log):
    """A table where model names the run: no 'mixes rows' error, and a real mix is said in plain words."""
    twice = pd.concat([log, log.assign(value=log["value"] * 0.99)])
    with pytest.raises(Exception) as exc:
        detect_table(twice, x="pretrain_loss", task="qa", metric="bpb")
    msg = str(exc.value)
    assert "np." not in msg and "\n" not in msg
    assert "rows for checkpoint 'coarse@0'" in msg or "rows for checkpoint '" in msg


# ---------------------------------------------------------------------------------------------
# 3. metric direction


def test_bpb_is_read_lower_is_better(by_loss):
    r = row(by_loss, "qa", "mc", "run-400m", metric="bpb")
    assert r["higher_is_better"] is False
    assert r["label"] == "smooth"
    assert r["floor"] > r["top"]  # reported in its own units: bpb falls as the run trains
    (c,) = [c for c in by_loss["metric_comparison"] if c["family"] == "run-400m"]
    assert (c["discrete"], c["continuous"]) == ("accuracy", "bpb")
    assert c["continuous_improves_at_chance"] is True


# ---------------------------------------------------------------------------------------------
# 4. honest labels


def test_run_with_few_points_before_its_jump_is_not_identifiable_with_the_count(by_loss, log):
    coarse = log[(log["model"] == "coarse") & (log["task"] == "qa") & (log["format"] == "mc")
                 & (log["metric"] == "accuracy")]
    before = coarse[(coarse["pretrain_loss"] > MC_JUMP) & (coarse["step"].astype(str) != "0")]
    assert len(before) == 2  # the shape this test is about: two checkpoints past init before the jump
    r = row(by_loss, "qa", "mc", "coarse")
    assert r["label"] == "not identifiable"
    assert r["reason"].startswith("not identifiable (2 pre-jump points)")
    last, first = r["bracket"]  # loss: the last checkpoint at chance, then the first above it
    assert first < MC_JUMP < last


def test_warmup_plateau_is_not_emergent(by_loss, log):
    for run in RUNS:
        r = row(by_loss, "warmup_task", "mc", run)
        assert r["label"] == "warm-up", r["reason"]
        assert r["n_floor_past_warmup"] < DetectConfig().min_floor_points
    # the same curve without the warm-up knowledge would be called emergent: the rule is what changes it
    (s,) = [s for s in build_series(log, "pretrain_loss", group="family")
            if s.key["family"] == "run-400m" and s.key["task"] == "warmup_task"]
    keep = ~s.init
    blind = classify_curve(s.u[keep], s.value[keep], chance=0.25, n_eval=1000)
    assert blind.label == "emergent"
    aware = classify_curve(s.u[keep], s.value[keep], chance=0.25, n_eval=1000, warmup=s.warmup[keep])
    assert aware.label == "warm-up"


def test_warmup_mask_is_half_way_from_random_init_to_the_lowest_loss(log):
    mask = warmup_mask(log)
    run = (log["model"] == "run-150m").to_numpy()
    loss = log["pretrain_loss"].to_numpy()
    half = L_INIT - 0.5 * (L_INIT - loss[run].min())
    assert (mask[run] == (loss[run] > half)).all()
    assert mask[run & (log["step"].astype(str) == "0").to_numpy()].all()


def test_a_genuine_jump_after_warmup_stays_emergent_and_cloze_is_smooth(by_loss):
    for run in RUNS:
        assert row(by_loss, "qa", "mc", run)["n_floor_past_warmup"] >= DetectConfig().min_floor_points
        assert row(by_loss, "qa", "cloze", run)["label"] == "smooth"


# ---------------------------------------------------------------------------------------------
# 5. where the jump is


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pooled_mc_jump_is_bracketed_and_random_init_stays_out_of_the_interval(seed):
    p = detect_table(validate_table(checkpoint_log(seed=seed)), x="pretrain_loss", task="qa", metric="accuracy",
                     group="pooled")
    r = row(p, "qa", "mc", "(all)")
    assert r["label"] == "emergent", r["reason"]
    last, first = r["last_at_chance"]["x"], r["first_above_chance"]["x"]
    assert first < MC_JUMP < last  # loss: the true jump lies between them
    assert first <= r["emergent_scale"] <= last
    assert r["scale_lo"] <= first and r["scale_hi"] >= last  # the interval brackets both checkpoints
    assert r["scale_hi"] < 5.0  # nowhere near the random-init loss (10.8 nats)
    assert abs(r["emergent_scale"] - MC_JUMP) <= last - first


def test_per_run_mc_jump_is_bracketed(by_loss):
    for run, params in RUNS.items():
        r = row(by_loss, "qa", "mc", run)
        last, first = r["last_at_chance"]["x"], r["first_above_chance"]["x"]
        assert first <= r["emergent_scale"] <= last
        assert r["scale_lo"] <= first and r["scale_hi"] >= last
        assert r["scale_hi"] < loss_at(params, 512)


# ---------------------------------------------------------------------------------------------
# 6. exit codes, baselines, the text table


def test_fit_without_finetuned_rows_exits_3_and_names_the_baseline(cli, log_csv):
    r = cli("fit", log_csv, "--task", "qa", "--where", "format=mc", "--metric", "accuracy")
    assert r.returncode == 3 and "--baseline sigmoid" in r.stderr


def test_fit_needs_one_format_at_a_time(cli, log_csv):
    r = cli("fit", log_csv, "--task", "qa", "--metric", "accuracy", "--baseline", "sigmoid")
    assert r.returncode == 2
    assert "differ in column 'format'" in r.stderr and "--where format=" in r.stderr


def test_sigmoid_baseline_not_identified_exits_3_without_flops(cli, tmp_path):
    df = checkpoint_log(seed=0)
    flat = df[(df["task"] == "qa") & (df["format"] == "mc") & (df["metric"] == "accuracy")
              & (df["pretrain_loss"] > MC_JUMP + 0.05)]
    path = tmp_path / "flat.csv"
    flat.to_csv(path, index=False)
    r = cli("fit", str(path), "--baseline", "sigmoid")
    assert r.returncode == 3, r.stderr
    assert "NOT identified" in r.stdout
    assert "flops" not in r.stdout and "params" not in r.stdout
    assert r.stderr.strip().splitlines()[-1].startswith("emergence fit: error: ")
    res = baseline_table(validate_table(flat))
    assert res["identified"] is False and res["scale"] is None


def test_backtest_baseline_sigmoid(cli, log_csv, tmp_path):
    args = ("backtest", log_csv, "--task", "qa", "--where", "format=mc", "--metric", "accuracy", "--baseline",
            "sigmoid")
    r = cli(*args, "--cutoff-loss", "3.1")
    assert r.returncode == 3 and "NOT identified" in r.stdout and "compute ahead" not in r.stdout
    r = cli(*args, "--cutoff-loss", "2.9", "--json", "--out", str(tmp_path / "bt"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["baseline"] == "sigmoid" and out["identified"] is True
    assert out["error_nats"] == pytest.approx(abs(out["predicted"] - out["actual"]))
    assert (tmp_path / "bt" / "backtest.png").read_bytes()[:4] == b"\x89PNG"
    res = sigmoid_backtest_table(validate_table(checkpoint_log(seed=0)).query("format == 'mc'"), "qa", 2.9,
                                 metric="accuracy")
    assert res["n_checkpoints_fit"] >= 10


def test_detect_text_table_one_line_per_run_within_100_columns(cli, tmp_path):
    df = checkpoint_log(seed=0)
    path = tmp_path / "log.csv"
    df.to_csv(path, index=False)
    r = cli("detect", str(path), "--metric", "accuracy")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n\n")[0].splitlines()  # the table, before the metric comparison
    assert all(len(line) <= 100 for line in lines), max(lines, key=len)
    head = next(i for i, line in enumerate(lines) if line.split()[:2] == ["run", "label"])
    assert lines[head].split()[2:] == ["emergent", "scale", "[90%]", "bracket", "why"]
    # a header line per curve (task | metric | shots=... | format=...), then one line per run under it
    i = lines.index("qa | accuracy | shots=5 | format=mc")
    runs = {line.split()[0]: line for line in lines[i + 1: i + 6]}
    assert set(runs) == {*RUNS, "coarse", "(all)"}
    assert runs["coarse"].split()[1:3] == ["not", "identifiable"] and "2 pre-jump points" in runs["coarse"]
    assert "->" in runs["coarse"]  # its bracket: last checkpoint at chance -> first above
    for run in RUNS:
        cells = runs[run].split()
        assert cells[1] == "emergent" and cells[3].startswith("[") and "->" in cells[5]


def test_detect_reports_progress_lines_with_an_eta_off_a_terminal(log_csv):
    """Without a terminal, progress is a plain line every EMERGENCE_PROGRESS_INTERVAL seconds (30 by default)."""
    env = {**os.environ, "EMERGENCE_PROGRESS": "lines", "EMERGENCE_PROGRESS_INTERVAL": "0"}
    r = subprocess.run([sys.executable, "-m", "emergence_laws", "detect", log_csv, "--task", "qa"], capture_output=True,
                       text=True, timeout=HANG_GUARD_S, env=env, check=False)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("emergence: detect ")]
    assert lines and "/15 curves" in lines[0] and "eta" in lines[0]
    assert lines[-1].startswith("emergence: detect 15/15 curves (100%)")
    quiet = subprocess.run([sys.executable, "-m", "emergence_laws", "detect", log_csv, "--task", "qa", "--no-progress"],
                           capture_output=True, text=True, timeout=HANG_GUARD_S, env=env, check=False)
    assert quiet.returncode == 0 and "emergence: detect " not in quiet.stderr


def test_detect_text_table_keeps_long_names_whole(cli, tmp_path):
    df = checkpoint_log(seed=0)
    long_task = "a_task_name_much_longer_than_any_column_width_used_before"
    df["task"] = df["task"].replace({"qa": long_task})
    df["model"] = df["model"].replace({"run-1b": "organisation/an-exceptionally-long-run-name-1b"})
    path = tmp_path / "long.csv"
    df.to_csv(path, index=False)
    r = cli("detect", str(path), "--metric", "accuracy")
    assert r.returncode == 0, r.stderr
    assert f"{long_task} | accuracy | shots=5 | format=mc" in r.stdout
    assert "organisation/an-exceptionally-long-run-name-1b" in r.stdout
    assert "np." not in r.stdout + r.stderr


# ---------------------------------------------------------------------------------------------
# 7. plots


def test_detect_plots_log_axes_and_clip_random_init(log):
    from emergence_laws.report import figure
    from emergence_laws.report.plots_detect import draw_series

    p = detect_table(log, x="pretrain_loss", task="qa", metric="accuracy")
    r = row(p, "qa", "mc", "run-150m")
    plt = figure.plt()
    fig, ax = plt.subplots()
    draw_series(ax, r, p["points"][r["series"]], "pretrain_loss")
    lo, hi = sorted(ax.get_xlim())
    pts = p["points"][r["series"]]
    trained = max(x for x, init in zip(pts["x"], pts["init"]) if not init)
    assert ax.xaxis_inverted() and hi < trained + 0.1 * (trained - lo) < L_INIT  # random init (10.8) clipped
    assert any("off the axis" in t.get_text() for t in ax.legend().get_texts())
    plt.close(fig)
    for x in ("tokens", "flops", "step"):
        p = detect_table(log, x=x, task="qa", metric="accuracy", config=DetectConfig(n_boot=0))
        r = row(p, "qa", "mc", "run-150m")
        fig, ax = plt.subplots()
        draw_series(ax, r, p["points"][r["series"]], x)
        assert ax.get_xscale() == "log"
        plt.close(fig)


def test_detect_out_writes_figures_for_a_checkpoint_log(log_csv, tmp_path):
    r = emergence("detect", log_csv, "--task", "warmup_task", "--out", str(tmp_path / "d"))
    assert r.returncode == 0, r.stderr
    names = {p.name for p in (tmp_path / "d").glob("*.png")}
    assert "other_labels.png" in names  # warm-up curves are drawn among the other labels
    payload = json.loads((tmp_path / "d" / "detect.json").read_text())
    assert payload["counts"]["warm-up"] >= 3
    pts = next(iter(payload["points"].values()))
    assert "step" in pts and "init" in pts


# ---------------------------------------------------------------------------------------------
# 8. lm-eval output folders, one results file per checkpoint


def lmeval_results(run: str, revision: str, acc: float, bpb: float) -> dict:
    """The layout lm-evaluation-harness 0.4 writes for one revision of a hub model."""
    return {
        "results": {"qa": {"alias": "qa", "acc,none": acc, "acc_stderr,none": 0.01, "bpb,none": bpb,
                           "bpb_stderr,none": 0.001}},
        "higher_is_better": {"qa": {"acc": True, "bpb": False}},
        "n-shot": {"qa": 5},
        "n-samples": {"qa": {"original": 1000, "effective": 1000}},
        "config": {"model": "hf", "model_args": f"pretrained={run},revision={revision},dtype=float32"},
        "model_name": run,
    }


def test_lmeval_folder_of_revisions_is_one_checkpoint_table(cli, tmp_path):
    log = checkpoint_log(seed=3, final=False, coarse=False)
    log = log[(log["task"] == "qa") & (log["format"] == "mc")]
    run = "org/run-400m"
    src = log[log["model"] == "run-400m"]
    folder = tmp_path / "lm_eval_out"
    for step, rows in src.groupby("step"):
        acc = float(rows.loc[rows["metric"] == "accuracy", "value"].iloc[0])
        bpb = float(rows.loc[rows["metric"] == "bpb", "value"].iloc[0])
        sub = folder / f"org__run-400m__step{step}"
        sub.mkdir(parents=True)
        (sub / "results_2026-01-01T00-00-00.json").write_text(json.dumps(lmeval_results(run, f"step{step}", acc, bpb)))
        (sub / "samples_qa_2026.json").write_text("{}")  # other lm-eval files are ignored
    scales = src.drop_duplicates("step")[["step", "pretrain_loss", "tokens"]].assign(model=run)
    scales.assign(step=[f"step{s}" for s in scales["step"]]).to_csv(tmp_path / "scales.csv", index=False)

    df = load_results(folder, scales=tmp_path / "scales.csv")
    assert set(df["model"]) == {run}
    assert sorted(int(s) for s in df["step"].unique()) == sorted(src["step"].unique())
    assert df["pretrain_loss"].notna().all()
    assert dict(zip(df["metric"], df["higher_is_better"])) == {"accuracy": True, "bpb": False}

    r = cli("detect", str(folder), "--scales", str(tmp_path / "scales.csv"), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    labels = {s["metric"]: s["label"] for s in out["series"]}
    assert labels["accuracy"] == "emergent" and labels["bpb"] == "smooth"

    (tmp_path / "scales.csv").write_text("model,step,pretrain_loss\norg/run-400m,step64,9.7\n")
    r = cli("detect", str(folder), "--scales", str(tmp_path / "scales.csv"))
    assert r.returncode == 2 and "at step" in r.stderr and "has no row in the scales table" in r.stderr


def test_unknown_metric_direction_from_a_flag(cli, tmp_path):
    df = checkpoint_log(seed=0, coarse=False)
    df = df[(df["task"] == "qa") & (df["metric"] == "bpb")].assign(metric="answer_cost")
    path = tmp_path / "cost.csv"
    df.to_csv(path, index=False)
    r = cli("detect", str(path), "--json")
    assert "not in the metric registry" in r.stderr
    assumed = json.loads(r.stdout)
    # read as higher-is-better, a cost that falls with training looks like inverse scaling
    assert {s["label"] for s in assumed["series"]} == {"noisy"}
    r = cli("detect", str(path), "--lower-is-better", "answer_cost", "--json")
    assert r.returncode == 0 and "not in the metric registry" not in r.stderr
    declared = json.loads(r.stdout)
    assert {s["label"] for s in declared["series"]} == {"smooth"}
    assert all(s["higher_is_better"] is False and s["floor"] > s["top"] for s in declared["series"])


def test_fit_plots_clip_an_isolated_random_init_and_use_log_flops(monkeypatch):
    """A log checkpointed every 1000 steps (step 0, then 1000, ...): the random-init loss sits ~7 nats
    above the rest and is clipped off the sigmoid plot; on FLOPs the axis is logarithmic."""
    from emergence_laws.report import figure
    from emergence_laws.report.plots_fit import plot_sigmoid_baseline

    monkeypatch.setattr(figure, "save", lambda fig, path, dpi=90: fig)  # keep the figure to read its axes
    df = validate_table(checkpoint_log(seed=4, final=False, coarse=False))
    df = df[(df["model"] == "run-1b") & (df["format"] == "mc") & (df["metric"] == "accuracy")
            & df["step"].isin([0, *range(1000, 60001, 1000)]) & (df["task"] == "qa")]
    res = baseline_table(df)
    assert res["identified"] is True
    fig = plot_sigmoid_baseline(res, "unused.png")
    ax = fig.axes[0]
    hi = max(ax.get_xlim())
    assert hi < 5.0 and ax.xaxis_inverted()
    res = baseline_table(df.drop(columns=["pretrain_loss"]))
    assert res["axis"] == "flops" and any("random init" in w for w in res["warnings"])
    fig2 = plot_sigmoid_baseline(res, "unused.png")
    assert fig2.axes[0].get_xscale() == "log"
    figure.plt().close("all")
