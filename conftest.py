"""`pytest --benchmark` runs the benchmark suite in benchmarks/ and nothing else; a plain `pytest` (testpaths:
tests/) never collects it, and benchmark files named explicitly are skipped unless --benchmark is given."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent / "benchmarks"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--benchmark",
        action="store_true",
        default=False,
        help="run the throughput benchmarks in benchmarks/ (only them) and check benchmarks/guards.toml",
    )


def pytest_configure(config: pytest.Config) -> None:
    # No paths on the command line: collect benchmarks/ instead of the testpaths (tests/ is not rerun). An
    # option value that looks like a path (--benchmark-json out.json) can make pytest fall back to the
    # invocation directory instead of testpaths: that too means "no paths given".
    no_paths = (pytest.Config.ArgsSource.TESTPATHS, pytest.Config.ArgsSource.INVOCATION_DIR)
    if config.getoption("benchmark") and config.args_source in no_paths:
        config.args[:] = [str(BENCHMARKS)]


def _is_benchmark(item: pytest.Item) -> bool:
    return BENCHMARKS in Path(item.path).resolve().parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("benchmark"):
        others = [item for item in items if not _is_benchmark(item)]
        if others:
            config.hook.pytest_deselected(items=others)
            items[:] = [item for item in items if _is_benchmark(item)]
        return
    skip = pytest.mark.skip(reason="benchmarks run only with `pytest --benchmark`")
    for item in items:
        if _is_benchmark(item):
            item.add_marker(skip)
