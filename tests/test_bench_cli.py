"""`fastaug bench` end to end on a tiny batch (the full suite runs under `pytest --benchmark`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fastaug import _bench
from fastaug.__main__ import main

pytest.importorskip("cv2")


def test_bench_cli_writes_table_json_and_chart(tmp_path, capsys):
    out_json, out_png = tmp_path / "bench.json", tmp_path / "bench.png"
    guards = tmp_path / "guards.toml"
    guards.write_text("[cpu]\nflip.native = { vs_copy = 1e-6 }\ngaussian_blur.native = { vs_peer = 1e6 }\n")
    code = main(
        [
            "bench",
            "--batch",
            "2",
            "--size",
            "32",
            "--rounds",
            "1",
            "--warmup",
            "1",
            "--threads",
            "1",
            "--workloads",
            "flip,gaussian_blur",
            "--backends",
            "native",
            "--peers",
            "opencv,numpy",
            "--json",
            str(out_json),
            "--png",
            str(out_png),
            "--guards",
            str(guards),
        ]
    )
    text = capsys.readouterr().out
    assert code == 1  # the impossible gaussian_blur floor fails, naming the workload and both figures
    assert "gaussian_blur [fastaug-native] vs_peer =" in text and "below its floor 1000000.000x" in text
    assert "flip [fastaug-native]" not in text
    for column in ("images/s", "GB/s", "copy bw", "fastaug-native", "opencv"):
        assert column in text
    report = json.loads(out_json.read_text())
    assert report["meta"]["batch"] == [2, 32, 32, 3] and report["meta"]["threads"] == 1
    assert [w["workload"] for w in report["workloads"]] == ["flip", "gaussian_blur"]
    flip = report["workloads"][0]
    impls = {r["impl"]: r for r in flip["results"]}
    assert {"fastaug-native", "copy", "opencv", "numpy"} <= set(impls)
    assert all(len(r["times_s"]) == 1 and r["median_s"] > 0 for r in flip["results"])
    ratio = flip["ratios"]["native"]
    assert ratio["fastest_peer"] in ("opencv", "numpy") and set(ratio["speedup"]) == {"opencv", "numpy"}
    assert ratio["vs_copy"] == pytest.approx(impls["copy"]["median_s"] / impls["fastaug-native"]["median_s"])
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_workload_has_a_fastaug_call_and_an_output_spec():
    p = _bench.Params(2, 16, 16)
    env = _bench.Env("cpu", 1)
    batch = _bench.make_batches(2, 16, 16, 1)[0]
    for work in _bench.WORKLOADS:
        _bench.fastaug_call(work, batch, env, p)()
        assert _bench.output_spec(work, p)[1] in ("uint8", "float32")


def test_bench_cli_rejects_unknown_names():
    with pytest.raises(SystemExit, match="unknown workloads"):
        main(["bench", "--workloads", "warp_affine,nosuch"])
    with pytest.raises(SystemExit, match=r"unknown backends \['cuda-native'\]; expected some of native"):
        main(["bench", "--backends", "cuda-native"])
    with pytest.raises(SystemExit, match="--warmup 0: expected at least 1"):
        main(["bench", "--warmup", "0"])


def test_run_suite_saves_the_report_after_each_workload(tmp_path, monkeypatch):
    """A run cut short by a time limit (gpu_check.sh's steps) still leaves the workloads it finished."""
    out = tmp_path / "partial.json"
    suite = _bench.Suite(n=2, h=16, w=16, threads=1, min_rounds=1, max_rounds=1, warmup=1, backends=["native"])
    suite.peer_names = []
    calls = []
    real_run = suite.run

    def run_then_stop(work):
        calls.append(work)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as if killed while timing the second workload
        return real_run(work)

    monkeypatch.setattr(suite, "run", run_then_stop)
    with pytest.raises(KeyboardInterrupt):
        _bench.run_suite(suite, ["flip", "invert"], json_path=out)
    report = json.loads(out.read_text())
    assert [w["workload"] for w in report["workloads"]] == ["flip"]
    assert report["meta"]["batch"] == [2, 16, 16, 3]


def test_augment_workload_times_every_peer_on_a_ragged_batch():
    """The realistic pipeline (issue 10's benchmark): photographs of mixed sizes, fastaug's Compose against
    albumentations, torchvision (where installed) and the hand-fused OpenCV, each into an NCHW float32 batch."""
    pytest.importorskip("albumentations")
    from fastaug import _bench_augment as augment

    peers = ["opencv", "opencv-pool", "albumentations-pool", "torchvision-pool"]
    suite = _bench.Suite(n=4, threads=2, min_rounds=1, max_rounds=1, warmup=1, backends=["native"], peers=peers)
    images = suite.inputs_for("augment")[0]
    assert len(images) == 4 and len({x.shape for x in images}) > 1
    assert all(256 <= s <= 512 for x in images for s in x.shape[:2])
    rec = suite.run("augment")
    names = {r["impl"] for r in rec["results"]}
    assert {"fastaug-native", "fastaug-native-out", "opencv", "opencv-pool", "albumentations-pool"} <= names
    assert rec["in_bytes"] == augment.input_bytes(images)
    out = np.empty((4, 3, augment.SIZE, augment.SIZE), np.float32)
    for peer in ("opencv-pool", "albumentations-pool"):  # a plausible normalised tensor, every value written
        out[:] = np.nan
        augment.peer_call(peer, images, out, 2, suite.env.pool())()
        assert np.isfinite(out).all() and abs(out.mean()) < 1.5 and 0.3 < out.std() < 2.5, peer
