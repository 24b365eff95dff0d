#!/usr/bin/env bash
# The CUDA backend proven on a GPU, in one command (issue 14): builds fastaug for this GPU only, runs the GPU
# tests with a junit report, compute-sanitizer memcheck/racecheck/initcheck over tests/gpu_sanitize.py (in
# parallel with the tests), then the GPU benchmark (CUDA events; 256 RGB uint8 224x224 and 32 of 1024x1024;
# torchvision, kornia, cupyx.scipy.ndimage and torch peers; a device-to-device copy), all in one run.
#
#   bash benchmarks/gpu_check.sh          # on the GPU machine; results under $OUT (default ./gpu-out)
#
# About 6 minutes on an H200 machine (build 35-60 s, tests and sanitizers 90 s, benchmarks 3-4 minutes).
#
# Writes (8 files at most, what the device tool brings back): run.log (every step's output), build.log,
# junit.xml, sanitizer.log, cuda-224.json, cuda-1024.json, loader-cuda.json (tests/gpu_loader_check.py), gpu-env.json (device, driver, software versions,
# each step's status and seconds). Without a GPU every GPU step skips cleanly (the rehearsal on the CPU);
# GPU_CHECK_SKIP_BUILD=1 reuses an existing build. Peers missing from the machine can travel as wheels in
# .whl/ (installed into /tmp/site). Each step has its own time limit, so one stuck step cannot eat the others'.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-out}"
mkdir -p "$OUT"
LOG="$OUT/run.log"
STEPS="$OUT/.steps"
: >"$STEPS"
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTHONFAULTHANDLER=1 NO_ALBUMENTATIONS_UPDATE=1

# step NAME LIMIT_S COMMAND...: runs it with its output in run.log, records status and seconds
step() {
  local name=$1 limit=$2 t0 rc
  shift 2
  t0=$(date +%s%N)
  echo "=== $name (limit ${limit}s) $(date -u +%T)" | tee -a "$LOG"
  timeout --kill-after=10 "$limit" "$@" >>"$LOG" 2>&1
  rc=$?
  echo "$name $rc $(( ($(date +%s%N) - t0) / 1000000 ))" >>"$STEPS"  # milliseconds
  echo "=== $name: exit $rc" | tee -a "$LOG"
  return $rc
}

gpu=0
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then gpu=1; fi
echo "gpu_check: $(date -u +%FT%TZ), GPU present: $gpu" | tee "$LOG"
[ "$gpu" = 1 ] && nvidia-smi >>"$LOG" 2>&1

if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  step wheels 60 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    .whl/*.whl && export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi

# numba-cuda releases that still register np.row_stack fail to import with NumPy 2.5, where it was removed
# (seen on the H200 image: numba-cuda's arrayobj.py, with numpy 2.5.2): give this run the alias back.
if ! "$PY" -c "import numpy; numpy.row_stack" 2>/dev/null; then
  mkdir -p /tmp/gpu_check_site
  echo "import numpy; numpy.row_stack = numpy.vstack" >/tmp/gpu_check_site/sitecustomize.py
  export PYTHONPATH="/tmp/gpu_check_site${PYTHONPATH:+:$PYTHONPATH}"
  echo "numpy has no row_stack: aliased to vstack for this run (numba-cuda needs it)" | tee -a "$LOG"
fi

# 1. build for this GPU only (-Xptxas -v: registers, shared memory and spills per kernel, in build.log)
if [ "${GPU_CHECK_SKIP_BUILD:-0}" != 1 ]; then
  command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
  arch=90
  [ "$gpu" = 1 ] && arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '. ')
  export CMAKE_ARGS="-DCMAKE_CUDA_ARCHITECTURES=$arch -DCMAKE_CUDA_FLAGS=-Xptxas=-v" CMAKE_BUILD_PARALLEL_LEVEL=16
  step build 150 "$PY" -m pip install -v --no-build-isolation --no-deps -e . -Ccmake.define.FASTAUG_CUDA=ON \
    || { grep -v -E '^\s*$' "$LOG" | tail -40; }
  grep -E 'ptxas|error|warning' "$LOG" >"$OUT/build.log" 2>/dev/null
fi
if ! step import 60 "$PY" -c "import fastaug, json; print(json.dumps(fastaug.backends(), indent=1))"; then
  # everything below needs the import: say why it failed (Python and native stacks, linkage), then stop
  {
    echo "--- import diagnostics"
    so=$(find build -name '_C*.so' | head -1)
    echo "module: $so"; ldd "$so"
    for what in "import numpy, numba" "import fastaug._C as C; print(C.cuda_status())" "import fastaug"; do
      echo "--- python -X faulthandler -c '$what'"
      timeout 60 "$PY" -X faulthandler -c "$what"; echo "exit $?"
    done
    if command -v cuda-gdb >/dev/null; then
      echo "--- cuda-gdb backtrace of: import fastaug"
      timeout 120 cuda-gdb -batch -ex run -ex bt -ex "info sharedlibrary" --args "$PY" -c "import fastaug"
    fi
  } >>"$LOG" 2>&1
  tail -80 "$LOG"
  exit 1
fi

# 2 + 3. the GPU tests (xdist workers) and the three sanitizers, side by side: all correctness, no timing
sanitize() {  # sanitize TOOL: compute-sanitizer over tests/gpu_sanitize.py, its report appended to sanitizer.log
  local tool=$1 extra=()
  [ "$tool" = racecheck ] && extra=(--racecheck-report all)
  # API errors are not reported: numba-cuda probes the driver with calls that fail by design
  timeout --kill-after=10 170 compute-sanitizer --tool "$tool" "${extra[@]}" --report-api-errors no \
    --error-exitcode 99 --print-limit 30 \
    "$PY" tests/gpu_sanitize.py >"$OUT/.sanitizer-$tool" 2>&1
  echo $? >"$OUT/.sanitizer-$tool.rc"
}
if [ "$gpu" = 1 ] && command -v compute-sanitizer >/dev/null; then
  for tool in memcheck racecheck initcheck; do sanitize "$tool" & done
else
  echo "sanitizers skipped: no GPU or no compute-sanitizer" >"$OUT/sanitizer.log"
fi
workers=()
"$PY" -c "import xdist" 2>/dev/null && workers=(-n 6)
step tests 170 "$PY" -m pytest -q -p no:cacheprovider -p no:benchmark "${workers[@]}" --junitxml="$OUT/junit.xml" \
  -W "ignore::DeprecationWarning" tests/test_cuda_gpu.py tests/test_numba_cuda.py tests/test_cuda_public_api.py \
  tests/test_cuda_nogpu.py tests/test_transforms_gpu.py tests/test_warp_backward.py
wait
# the DeviceLoader on the GPU: equality with the CPU path, memory growth, images/s, share of a ResNet-50 step
if [ "$gpu" = 1 ]; then
  step loader 120 bash -c "\"$PY\" tests/gpu_loader_check.py --batches 12 --batch-size 64 --workers 4 >\"$OUT/loader-cuda.json\""
fi
for tool in memcheck racecheck initcheck; do
  [ -f "$OUT/.sanitizer-$tool" ] || continue
  rc=$(cat "$OUT/.sanitizer-$tool.rc")
  { echo "=== compute-sanitizer --tool $tool: exit $rc"; cat "$OUT/.sanitizer-$tool"; } >>"$OUT/sanitizer.log"
  echo "sanitizer-$tool $rc 0" >>"$STEPS"
  echo "=== sanitizer $tool: exit $rc ($(grep -c -E '^=+ +(Invalid|Uninitialized|Race|Error|Leaked)' \
    "$OUT/.sanitizer-$tool") findings)" | tee -a "$LOG"
  rm -f "$OUT/.sanitizer-$tool" "$OUT/.sanitizer-$tool.rc"
done

# 4. the benchmark: the standard GPU batch, then few large images
if [ "$gpu" = 1 ]; then
  # The native CUDA kernels against every peer. The Numba CUDA fallback is proven by the tests above; timing
  # it too (GPU_CHECK_BACKENDS=cuda,numba_cuda) costs ~25 s of JIT per workload: with it, the second H200 run
  # (19 workloads) finished 9 of them in 240 s. Native only, all 19 took 79 s at 224. The JSON is rewritten
  # after each workload, so a step cut short by its limit still brings back what it finished.
  for size in 224 1024; do
    batch=256 limit=150
    [ "$size" = 1024 ] && batch=32 limit=120
    step "bench-$size" "$limit" "$PY" -m fastaug bench --device cuda --batch "$batch" --size "$size" --rounds 5 \
      --warmup 1 --backends "${GPU_CHECK_BACKENDS:-cuda}" --json "$OUT/cuda-$size.json" --png ''
  done
fi

# 5. the environment and every step's outcome
"$PY" - "$OUT" "$STEPS" >>"$LOG" 2>&1 <<'EOF'
import json, platform, subprocess, sys
from importlib import metadata
out, steps = sys.argv[1], sys.argv[2]
def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as e:  # noqa: BLE001
        return f"unavailable: {e}"
env = {"python": platform.python_version(), "platform": platform.platform(),
       "gpu": run("nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,compute_cap",
                  "--format=csv,noheader"),
       "nvcc": run("nvcc", "--version").splitlines()[-1:] ,
       "compute_sanitizer": run("compute-sanitizer", "--version").splitlines()[-1:],
       "packages": {}, "steps": []}
for name in ("torch", "torchvision", "kornia", "cupy-cuda13x", "numba", "numba-cuda", "numpy", "opencv-python-headless",
             "scikit-image", "pybind11", "scikit-build-core", "cmake", "fastaug"):
    try:
        env["packages"][name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        env["packages"][name] = None
for line in open(steps):
    name, rc, ms = line.split()
    env["steps"].append({"step": name, "exit": int(rc), "seconds": int(ms) / 1000})
with open(f"{out}/gpu-env.json", "w") as f:
    json.dump(env, f, indent=1)
print(json.dumps(env["steps"]))
EOF
rm -f "$STEPS"
echo "gpu_check: done $(date -u +%T)" | tee -a "$LOG"
grep -E '^=== .*exit|passed|failed|error' "$LOG" | tail -30
