"""Throughput guards: every workload through every fastaug backend, every installed peer and a plain copy,
in one run (fastaug/_bench.py defines them all; `fastaug bench` is the command-line face of the same suite).

Run: pytest --benchmark            (plain `pytest` does not collect this directory)
Each test fails, naming the workload and both figures, when a ratio is below its floor in guards.toml.
pytest-benchmark's own statistics (--benchmark-json, --benchmark-compare, ...) time fastaug's default backend;
the ratios, every implementation's median and the thread counts are in each benchmark's extra_info.
(No conftest.py here: the tests import theirs as `conftest`, and a second one would shadow it.)"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fastaug import _bench

pytest.importorskip("pytest_benchmark")

GUARDS = Path(__file__).with_name("guards.toml")


def _cuda() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


@pytest.fixture(scope="session", params=["cpu"] + (["cuda"] if _cuda() else []))
def suite(request: pytest.FixtureRequest) -> Iterator[_bench.Suite]:
    """The standard batch of the device (64 RGB uint8 256x256 on the CPU, 256 of 224x224 on CUDA), 3 input
    batches rotated between rounds, fastaug / OpenCV / torch on the same thread count. At the end, the table
    of everything measured on the device."""
    suite = _bench.Suite(device=request.param)
    yield suite
    if suite.records:  # teardown output is captured: print past the capture
        plugins = request.config.pluginmanager
        with plugins.get_plugin("capturemanager").global_and_fixture_disabled():
            terminal = plugins.get_plugin("terminalreporter")
            terminal.write_sep("=", f"fastaug benchmark suite ({suite.device}): ratios measured in this run")
            terminal.write_line(_bench.format_table({"meta": suite.meta(), "workloads": suite.records}))


@pytest.fixture(scope="session")
def guards() -> dict[str, Any]:
    return _bench.load_guards(GUARDS)


@pytest.mark.parametrize("workload", _bench.WORKLOADS)
def test_throughput(benchmark: Any, suite: _bench.Suite, guards: dict, workload: str) -> None:
    rec = suite.run(workload)
    suite.records.append(rec)
    failed = {name: why for name, why in rec["skipped"].items() if why.startswith("FAILED")}
    if failed:
        pytest.fail(f"{workload}: fastaug failed: {failed}", pytrace=False)
    benchmark.group = f"{suite.device}:{workload}"
    benchmark.extra_info.update(
        {
            "device": suite.device,
            "threads": suite.threads,
            "rounds": rec["rounds"],
            "ratios": rec["ratios"],
            "skipped": rec["skipped"],
            "median_s": {r["impl"]: r["median_s"] for r in rec["results"]},
        }
    )
    # pytest-benchmark's own figure: fastaug's default backend, on the same calls and rotation of inputs
    impl = next(i for i in suite.last_impls if i.kind == "fastaug")
    batch = itertools.cycle(range(len(impl.calls)))

    def call(i: int) -> None:
        impl.calls[i]()
        suite.env.sync()

    rounds = next(r["rounds"] for r in rec["results"] if r["impl"] == impl.name)
    benchmark.pedantic(call, setup=lambda: ((next(batch),), {}), rounds=rounds, warmup_rounds=0)  # warm already
    failures = _bench.check_guards(rec, guards, suite.device)
    if failures:
        pytest.fail("throughput below its floor in benchmarks/guards.toml:\n" + "\n".join(failures), pytrace=False)
