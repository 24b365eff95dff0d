"""The pipeline on a GPU: Compose on torch CUDA tensors (a dense batch and a ragged list) gives the same
bits as on the CPU with the same seed, for the benchmark's training pipeline and every transform. Skipped
without a GPU; benchmarks/gpu_check.sh runs it on one."""

from __future__ import annotations

import numpy as np
import pytest
from pipeline_cases import EVERY

import fastaug as fa
import fastaug.transforms as T
from fastaug import _bench_augment as augment

torch = pytest.importorskip("torch")
if not torch.cuda.is_available() or not fa.backends()["cuda"]["available"]:
    pytest.skip("needs a CUDA GPU and fastaug built with CUDA", allow_module_level=True)


@pytest.fixture(scope="module")
def photos():
    return augment.make_ragged(8, 1)[0]


def same(gpu, cpu) -> None:
    torch.cuda.synchronize()
    np.testing.assert_array_equal(gpu.cpu().numpy(), cpu)


@pytest.mark.parametrize("steps", EVERY, ids=lambda s: "+".join(type(t).__name__ for t in s))
def test_every_transform_on_cuda_equals_cpu(steps, photos):
    dense = np.stack([p[:256, :256] for p in photos])
    with fa.backend("native"):
        cpu = T.Compose(steps, seed=3)(dense)
        gpu = T.Compose(steps, seed=3)(torch.from_numpy(dense).cuda())
    same(gpu, cpu)


def test_the_benchmark_pipeline_on_a_ragged_cuda_list_equals_cpu(photos):
    with fa.backend("native"):
        cpu = augment.pipeline(seed=5)(photos)
        gpu = augment.pipeline(seed=5)([torch.from_numpy(p).cuda() for p in photos])
    assert gpu.is_cuda and gpu.shape == (8, 3, 224, 224)
    same(gpu, cpu)
