"""Throughput guards: every workload through every fastaug backend, every installed peer and a plain copy,
in one run (fastaug/_bench.py defines them all; `fastaug bench` is the command-line face of the same suite).

Run: pytest --benchmark            (plain `pytest` does not collect this directory)
Each test fails, naming the workload and both figures, when a ratio is below its floor in guards.toml.
pytest-benchmark's own statistics (--benchmark-json, --benchmark-compare, ...) time fastaug's default backend;
the ratios, every implementation's median and the thread counts are in each benchmark's extra_info."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from fastaug import _bench

pytest.importorskip("pytest_benchmark")


@pytest.mark.parametrize("workload", _bench.WORKLOADS)
def test_throughput(benchmark: Any, suite: _bench.Suite, guards: dict, records: dict, workload: str) -> None:
    rec = suite.run(workload)
    records.setdefault(suite.device, []).append(rec)
    benchmark.group = f"{suite.device}:{workload}"
    benchmark.extra_info.update({"device": suite.device, "threads": suite.threads, "rounds": rec["rounds"],
                                 "ratios": rec["ratios"], "skipped": rec["skipped"],
                                 "median_s": {r["impl"]: r["median_s"] for r in rec["results"]}})
    # pytest-benchmark's own figure: fastaug's default backend, same rotation of inputs
    impl = next(i for i in suite.last_impls if i.kind == "fastaug")
    batch = itertools.cycle(range(len(impl.calls)))

    def call(i: int) -> None:
        impl.calls[i]()
        suite.env.sync()

    benchmark.pedantic(call, setup=lambda: ((next(batch),), {}), rounds=rec["rounds"], warmup_rounds=1)
    failures = _bench.check_guards(rec, guards, suite.device)
    if failures:
        pytest.fail("throughput below its floor in benchmarks/guards.toml:\n" + "\n".join(failures), pytrace=False)
