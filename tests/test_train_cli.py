"""`fastaug train gan|vae`: every option's validation gives one line "fastaug train gan: --option: ..." and
exit status 2 (never a traceback), the options are generated from the config dataclasses, and tiny runs
(a few steps on the CPU) write their run folders, print their final metrics and resume."""

from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import fields
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from fastaug.__main__ import main  # noqa: E402
from fastaug.train import GANConfig  # noqa: E402
from fastaug.train import _run as run  # noqa: E402

TINY = ["--size", "16", "--batch", "8", "--width", "4", "--z-dim", "8", "--eval-n", "16", "--log-every", "1",
        "--sample-every", "2", "--device", "cpu", "--threads", "1", "--no-progress"]  # fmt: skip


def fails(capsys, argv: list[str], option: str, text: str = "") -> str:
    """Runs `fastaug train ...argv`, expects exit status 2 and ONE stderr line naming the option."""
    try:
        rc = main(["train", *argv])
    except SystemExit as e:  # argparse's own errors exit
        rc = e.code
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    model = argv[0]
    assert err.startswith(f"fastaug train {model}: {option}"), err
    assert text in err, err
    return err


BAD = [
    (["--data-fraction", "0"], "--data-fraction", "(0, 1]"),
    (["--data-fraction", "1.5"], "--data-fraction", "got 1.5"),
    (["--data-fraction", "abc"], "--data-fraction", "invalid float value"),
    (["--size", "24"], "--size", "power of two"),
    (["--size", "2"], "--size", ">= 4"),
    (["--size", "x"], "--size", "invalid int value"),
    (["--policy", "bogus"], "--policy", "unknown policy 'bogus'"),
    (["--policy", "diffaugment:color,zoom"], "--policy", "unknown DiffAugment op 'zoom'"),
    (["--policy", "ada:bgc,warp"], "--policy", "unknown ADA op 'warp'"),
    (["--loss", "wgan"], "--loss", "invalid choice"),
    (["--r1-on", "both"], "--r1-on", "invalid choice"),
    (["--r1-gamma", "-1"], "--r1-gamma", ">= 0"),
    (["--batch", "1"], "--batch", ">= 2"),
    (["--steps", "0"], "--steps", ">= 1"),
    (["--lr", "0"], "--lr", "positive"),
    (["--channels", "2"], "--channels", "invalid choice"),
    (["--device", "tpu"], "--device", "invalid choice"),
    (["--seed", "-1"], "--seed", ">= 0"),
    (["--eval-every", "-1"], "--eval-every", ">= 0"),
    (["--eval-n", "-5"], "--eval-n", ">= 0"),
    (["--checkpoint-every", "-1"], "--checkpoint-every", ">= 0"),
    (["--sample-every", "-1"], "--sample-every", ">= 0"),
    (["--log-every", "0"], "--log-every", ">= 1"),
    (["--threads", "-1"], "--threads", ">= 0"),
    (["--z-dim", "0"], "--z-dim", ">= 1"),
    (["--width", "0"], "--width", ">= 1"),
    (["--ema-kimg", "-1"], "--ema-kimg", ">= 0"),
    (["--ema-rampup", "-0.5"], "--ema-rampup", ">= 0"),
    (["--ada-target", "2"], "--ada-target", "[-1, 1]"),
    (["--ada-p-max", "1.5"], "--ada-p-max", "[0, 1]"),
    (["--ada-kimg", "0"], "--ada-kimg", "> 0"),
    (["--ada-interval", "0"], "--ada-interval", ">= 1"),
    (["--data", "/no/such/place"], "--data", "unknown dataset"),
    (["--unknown-option", "1"], "unrecognized arguments", ""),
]


@pytest.mark.parametrize(("argv", "option", "text"), BAD, ids=[" ".join(a) for a, _, _ in BAD])
def test_bad_option_one_line_exit_2(capsys, tmp_path, argv, option, text):
    # the tiny options first (a validation that let a bad value through would train for one short step)
    fails(capsys, ["gan", *TINY, "--steps", "1", *argv, "--out", str(tmp_path / "run")], option, text)


def test_every_config_field_has_a_validated_option():
    """The table above covers every GANConfig field that can hold a wrong value (out and resume have their
    own tests below), so an option added without validation shows up here."""
    covered = {a[0].removeprefix("--").replace("-", "_") for a, _, _ in BAD}
    own = {"out", "resume", "progress"}
    assert {f.name for f in fields(GANConfig)} - covered - own == set()


def test_folder_without_readable_image(capsys, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "notes.txt").write_text("not an image")
    (folder / "broken.png").write_bytes(b"\x89PNG broken")
    fails(capsys, ["gan", "--data", str(folder), "--out", str(tmp_path / "run")], "--data", "no readable image")


def test_out_not_writable(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a file where the folder should go: mkdir fails even as root
    fails(capsys, ["gan", *TINY, "--out", str(blocker / "run")], "--out", "cannot write")


def test_resume_errors(capsys, tmp_path):
    out = tmp_path / "run"
    fails(capsys, ["gan", *TINY, "--out", str(out), "--resume"], "--resume", "no checkpoint")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    fails(capsys, ["gan", *TINY, "--out", str(out), "--resume", str(garbage)], "--resume", "cannot read checkpoint")
    assert main(["train", "gan", *TINY, "--steps", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    err = fails(capsys, ["gan", *TINY, "--size", "8", "--out", str(out), "--resume"], "--resume")
    assert "was written for size 16, this run has size 8" in err
    fails(capsys, ["gan", *TINY, "--policy", "ada", "--out", str(out), "--resume"], "--resume", "policy 'none'")
    fails(capsys, ["gan", *TINY, "--out", str(out)], "--out", "already holds a run")


def test_unknown_model_and_usage(capsys):
    assert main(["train", "diffusion"]) == 2
    assert "unknown model 'diffusion'" in capsys.readouterr().err
    assert main(["train"]) == 2
    assert main(["train", "--help"]) == 0


def test_help_lists_generated_options(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "gan", "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for f in fields(GANConfig):
        assert run.option(f.name) in text, f.name
    assert "--no-progress" in text and "--resume [CHECKPOINT]" in text


# ------------------------------------------------------------------------------------------------- tiny runs
def test_tiny_gan_run_and_resume(capsys, tmp_path):
    out = tmp_path / "run"
    args = ["gan", *TINY, "--policy", "diffaugment", "--r1-gamma", "1", "--out", str(out)]
    assert main(["train", *args, "--steps", "2"]) == 0
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert final["kind"] == "eval" and final["step"] == 2 and math.isfinite(final["fid"]) and final["n"] == 16
    lines = [json.loads(s) for s in (out / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in lines if r["kind"] == "train"]
    assert [r["step"] for r in train] == [1, 2]
    assert all(math.isfinite(r[k]) for r in train for k in ("loss_d", "loss_g", "r1"))
    for name in ("samples.png", "samples/0000002.png", "losses.png", "last.pt"):
        assert (out / name).stat().st_size > 100, name
    assert run.load_checkpoint(out / "last.pt")["step"] == 2
    assert main(["train", *args, "--steps", "3", "--resume"]) == 0  # extends the run by one step
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert final["step"] == 3
    steps = [r["step"] for r in run.RunDir(out).records("train")]
    assert steps == [1, 2, 3]


@pytest.mark.skipif(importlib.util.find_spec("fastaug.train.vae") is None, reason="fastaug.train.vae not written yet")
def test_tiny_vae_run(capsys, tmp_path):
    out = tmp_path / "vae"
    argv = ["train", "vae", "--size", "16", "--batch", "8", "--steps", "2", "--width", "4", "--device", "cpu",
            "--threads", "1", "--no-progress", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    assert (out / "metrics.jsonl").exists() and (out / "last.pt").exists()
    fails(capsys, ["vae", "--data-fraction", "2", "--out", str(tmp_path / "v2")], "--data-fraction")


def test_options_follow_the_dataclass():
    """Types and defaults come from the dataclass: parsing no option gives the dataclass's defaults."""
    from fastaug.train.cli import build_parser

    ns = build_parser("gan", GANConfig).parse_args([])
    assert GANConfig(**vars(ns)) == GANConfig()
    ns = build_parser("gan", GANConfig).parse_args(["--resume", "--no-progress", "--channels", "3"])
    assert ns.resume is True and ns.progress is False and ns.channels == 3


def test_import_fastaug_main_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, fastaug.__main__; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1]).returncode == 0
