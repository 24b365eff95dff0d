"""Writes benchmarks/RESULTS.md from the raw JSON of `fastaug bench` (and, with --write-guards, the floors in
benchmarks/guards.toml), so that neither is edited by hand.

    fastaug bench --json benchmarks/results/cpu.json                 # on the CPU machine
    fastaug bench --workloads augment --json benchmarks/results/cpu-augment-torchvision.json  # with torchvision
    bash benchmarks/gpu_check.sh  # on a GPU machine; its cuda-224.json / cuda-1024.json go to benchmarks/results/
    python benchmarks/make_results.py [--write-guards --margin 0.5]"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from fastaug import _bench

HERE = Path(__file__).resolve().parent


def _time(t: float, scale: float) -> str:
    v = t * scale
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def section(report: dict[str, Any]) -> list[str]:
    meta = report["meta"]
    n = meta["batch"][0]
    gpu = meta.get("gpu")
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    skipped = sorted(
        {f"{k}: {v}" for rec in report["workloads"] for k, v in rec["skipped"].items() if not v.startswith("n/a")}
    )
    impls = list(dict.fromkeys(r["impl"] for rec in report["workloads"] for r in rec["results"]))
    where = (
        f"{gpu['multiprocessors']} SMs, {gpu['memory_gib']} GiB, L2 {gpu['l2_mib']} MiB, timed with {gpu['timing']}"
        if gpu
        else f"{meta['cpu_count']} logical cores, {meta['threads']} threads for fastaug, OpenCV and torch"
    )
    lines = [
        f"Device: **{meta['device_name']}** ({meta['device']}, {where}); batch {'x'.join(map(str, meta['batch']))} "
        f"{meta['dtype']} ({meta['input_batches']} distinct batches rotated between rounds); date {meta['date']}.",
        "",
        f"Versions: {versions}.",
        "",
        f"Skipped: {'; '.join(skipped) if skipped else 'none'}.",
        "",
        "### Speed-ups (ratios measured in the same run; > 1: fastaug is faster)",
        "",
        "| workload | backend | images/s | GB/s | of copy bandwidth | vs fastest peer | speed-up over each peer |",
        "|---|---|---|---|---|---|---|",
    ]
    for rec in report["workloads"]:
        med = {r["impl"]: r["median_s"] for r in rec["results"]}
        gb = (rec["in_bytes"] + rec["out_bytes"]) / 1e9
        for backend, ratio in _bench.ratios(rec).items():
            t = med[f"fastaug-{backend}"]
            peers = ", ".join(f"{p} {x:.2f}x" for p, x in sorted(ratio["speedup"].items(), key=lambda kv: kv[1]))
            best = f"{ratio['vs_peer']:.2f}x ({ratio['fastest_peer']})" if ratio["vs_peer"] else "no peer"
            lines.append(
                f"| {rec['workload']} | {backend} | {n / t:.0f} | {gb / t:.2f} | {ratio['vs_copy']:.2f} | "
                f"{best} | {peers} |"
            )
    unit, scale = ("µs", 1e6) if gpu else ("ms", 1e3)
    lines += [
        "",
        f"### Median time per batch ({unit})",
        "",
        "| workload | rounds | " + " | ".join(impls) + " |",
        "|---|---|" + "---|" * len(impls),
    ]
    for rec in report["workloads"]:
        med = {r["impl"]: r["median_s"] for r in rec["results"]}
        lines.append(
            f"| {rec['workload']} | {rec['rounds']} | "
            + " | ".join(_time(med[i], scale) if i in med else "-" for i in impls)
            + " |"
        )
    if gpu:
        lines += [
            "",
            "### As called (µs per call, 10 calls enqueued back to back: host overhead included)",
            "",
            "| workload | " + " | ".join(impls) + " |",
            "|---|" + "---|" * len(impls),
        ]
        for rec in report["workloads"]:
            called = {r["impl"]: r.get("called_s") for r in rec["results"]}
            lines.append(
                f"| {rec['workload']} | "
                + " | ".join(_time(called[i], scale) if called.get(i) else "-" for i in impls)
                + " |"
            )
    threads = {r["impl"]: r["threads"] for rec in report["workloads"] for r in rec["results"]}
    lines += ["", "Threads per implementation: " + ", ".join(f"{k} {v}" for k, v in threads.items()) + "."]
    return lines


def loader_section(name: str, report: dict[str, Any]) -> list[str]:
    """A DataLoader run of benchmarks/loader.py (loader-cpu*.json): images/s per peer and num_workers, the
    load of the machine around each figure, the stage profile and the run's notes."""
    setup, runs = report["setup"], report["runs"]
    workers = sorted({int(w) for r in runs.values() for w in r})
    lines = [
        f"### DataLoader end to end, {setup['size']} px ({name}.json)",
        "",
        f"{setup['images']} JPEGs of 256-512 px, batch {setup['batch']}, decoder {setup['decoder']}; "
        f"{setup['statistic']}, {setup['epochs']} epochs. Machine: {report['machine']['cpu']}, "
        f"{report['machine']['cores']} cores. Load: the 1-minute load average before / after each figure.",
        "",
        "| loader | " + " | ".join(f"num_workers={w}" for w in workers) + " |",
        "|---|" + "---|" * len(workers),
    ]
    for peer, by_workers in runs.items():
        cells = []
        for w in workers:
            r = by_workers.get(str(w))
            cells.append(
                "-" if r is None else f"{r['images_per_s']:,.0f} img/s (load {r['load_before']}/{r['load_after']})"
            )
        lines.append(f"| {peer} | " + " | ".join(cells) + " |")
    envs = report.get("environments", {})
    base = envs.get("decode-only")
    for peer, env in envs.items():
        if base is not None and env != base:
            versions = ", ".join(f"{k} {v}" for k, v in env.items() if base.get(k) != v)
            lines += ["", f"{peer} ran in its own invocation and environment ({versions})."]
    profile = report.get("profile_ms_per_image", {})
    if profile:
        lines += [
            "",
            "Per image, one thread, in process (ms, best of rounds; the share is a fraction):",
            "",
            "| stage | ms |",
            "|---|---|",
        ]
        lines += [f"| {k} | {v} |" for k, v in profile.items()]
    notes = report.get("notes", [])
    if notes:
        lines += ["", "Notes:", "", *(f"- {note}" for note in notes)]
    return lines


def results_md(
    cpu: dict[str, Any] | None,
    gpus: dict[str, dict[str, Any]],
    extra_cpu: dict[str, dict[str, Any]] | None = None,
    stages: dict[str, Any] | None = None,
    loaders: dict[str, dict[str, Any]] | None = None,
) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Generated by `python benchmarks/make_results.py` from `benchmarks/results/*.json` (written by",
        "`fastaug bench --json ...`); do not edit by hand. Workloads, peers and timing rules:",
        "`fastaug/_bench.py`; how to run and read them: the README's Benchmarks section.",
        "",
        'Columns: GB/s counts the input and output bytes once; "of copy bandwidth" is that rate over the',
        "rate of a plain copy measured in the same run (np.copyto / Tensor.copy_, counting the bytes it",
        "read and wrote; 1.0 = as fast as copying the same bytes); speed-ups are peer time / fastaug time,",
        "medians of interleaved rounds.",
        "",
        "## CPU",
        "",
    ]
    lines += (
        ["![speed-up over the fastest peer](results/cpu.png)", "", *section(cpu)]
        if cpu
        else ["No CPU run recorded yet: `fastaug bench --json benchmarks/results/cpu.json`."]
    )
    if stages:
        lines += [
            "",
            f"### Where the augment workload's time goes (fastaug native, {stages['threads']} threads; "
            "benchmarks/augment_stages.py)",
            "",
            f"Mean {stages['total_ms']} ms a batch (median {stages['median_total_ms']} ms), {stages['rounds']} rounds:",
            "",
            "| stage | ms | share |",
            "|---|---|---|",
            *(f"| {k} | {v} | {v / stages['total_ms']:.0%} |" for k, v in stages["stages_ms"].items()),
        ]
    for name, report in (extra_cpu or {}).items():  # cpu-<what>.json: runs with other peers installed
        lines += ["", f"### Also on the CPU: {name}.json", "", *section(report)]
    for name, report in (loaders or {}).items():  # loader-cpu*.json: benchmarks/loader.py
        lines += ["", *loader_section(name, report)]
    lines += ["", "## GPU", ""]
    for name, report in gpus.items():
        meta = report["meta"]
        lines += [f"### {meta['device_name']}, batch {'x'.join(map(str, meta['batch']))} ({name}.json)", ""]
        lines += [*section(report), ""]
    if not gpus:
        lines += [
            "**No GPU run exists yet.** On a machine with CUDA (fastaug built with its CUDA kernels, torch",
            "with CUDA; kornia, torchvision, CuPy, CV-CUDA where installed), run",
            "`bash benchmarks/gpu_check.sh`, copy its cuda-*.json here and run `python benchmarks/make_results.py`.",
        ]
    return "\n".join(lines).rstrip() + "\n"


def guards_toml(runs: dict[str, list[dict[str, Any]]], margin: float) -> str:
    lines = [
        "# Floors for the ratios that `pytest --benchmark` measures; a ratio below its floor fails the run.",
        "# vs_peer: fastest installed peer's median / fastaug's; vs_copy: fastaug's bandwidth over the copy's",
        "# (both measured in the same run, so shared-machine noise largely cancels).",
        f"# Generated by `python benchmarks/make_results.py --write-guards --margin {margin}` from",
        f"# benchmarks/results/*.json (and --also runs): floor = {margin} x the lowest measured ratio,",
        "# rounded down to 2 significant digits.",
        "# Memory-bound workloads (sobel, flip, threshold, to_gray) swing most with other processes here.",
        "# Tighten them as the kernels get faster (re-measure, regenerate, review the diff).",
    ]
    for device, device_runs in runs.items():
        lines += ["", f"[{device}]"]
        for work, backends in _bench.floors_from([r["workloads"] for r in device_runs], margin).items():
            for backend, floors in backends.items():
                body = ", ".join(f"{k} = {v}" for k, v in floors.items())
                lines.append(f"{work}.{backend} = {{ {body} }}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=str(HERE / "results"), help="folder with cpu.json / cuda*.json")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    parser.add_argument("--write-guards", action="store_true", help="also rewrite guards.toml from the JSON")
    parser.add_argument("--margin", type=float, default=0.5, help="floor = margin x measured ratio")
    parser.add_argument("--also", nargs="*", default=[], help="more JSON runs: floors take the lowest ratio")
    args = parser.parse_args()
    folder = Path(args.results)
    cpu = json.loads((folder / "cpu.json").read_text()) if (folder / "cpu.json").exists() else None
    runs = [(path.stem, json.loads(path.read_text())) for path in folder.glob("cuda*.json")]
    gpus = dict(sorted(runs, key=lambda kv: (kv[1]["meta"]["device_name"], kv[1]["meta"]["batch"][1])))
    extra_cpu = {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("cpu-*.json"))}
    stages_path = folder / "augment-stages.json"
    stages = json.loads(stages_path.read_text()) if stages_path.exists() else None
    loaders = {path.stem: json.loads(path.read_text()) for path in folder.glob("loader-cpu*.json")}
    loaders = dict(sorted(loaders.items(), key=lambda kv: -kv[1]["setup"]["size"]))  # the workload's 224 first
    Path(args.out).write_text(results_md(cpu, gpus, extra_cpu, stages, loaders))
    print(f"wrote {args.out}")
    if cpu:
        why_not = _bench.write_png(cpu, folder / "cpu.png")
        print(f"no chart: {why_not}" if why_not else f"wrote {folder / 'cpu.png'}")
    if args.write_guards:
        runs = {"cpu": [cpu]} if cpu else {}
        for report in gpus.values():
            runs.setdefault("cuda", []).append(report)
        for path in args.also:
            extra = json.loads(Path(path).read_text())
            runs.setdefault(extra["meta"]["device"], []).append(extra)
        (HERE / "guards.toml").write_text(guards_toml(runs, args.margin))
        print(f"wrote {HERE / 'guards.toml'}")


if __name__ == "__main__":
    main()
