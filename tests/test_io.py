"""fastaug.io: decoding at reduced JPEG scales, header sizes, the scale choice, and the crop-aware datasets
(the crop-aware result against the full-scale decode with the same keys)."""

from __future__ import annotations

import io
import multiprocessing
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fastaug as fa
import fastaug.io as fio
from fastaug.transforms import Compose, HorizontalFlip, Keyed, Normalize, RandomResizedCrop, SampleRandom, sample_keys

Image = pytest.importorskip("PIL.Image")
data = pytest.importorskip("skimage.data")

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "camera")


def _photo(name: str) -> np.ndarray:
    p = getattr(data, name)()
    return np.ascontiguousarray(np.stack([p] * 3, -1) if p.ndim == 2 else p[..., :3])


def _jpeg(image: np.ndarray, **kwargs: Any) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=95, **kwargs)
    return buf.getvalue()


@pytest.fixture(scope="module")
def jpegs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """12 JPEGs (quality 95) of the scikit-image photographs resized to mixed sizes 256-512 px, two per
    photograph, written into a class folder layout root/<photo>/<i>.jpg."""
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(1)
    paths = []
    for i in range(12):
        name = PHOTOS[i % len(PHOTOS)]
        h, w = (int(v) for v in rng.integers(256, 513, 2))
        image = np.asarray(Image.fromarray(_photo(name)).resize((w, h), Image.BICUBIC))
        (root / name).mkdir(exist_ok=True)
        path = root / name / f"{i:02d}.jpg"
        path.write_bytes(_jpeg(image))
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------------- decode


@pytest.mark.parametrize("decoder", fio.DECODERS)
def test_decode_scales_give_ceil_sizes_and_agree_across_decoders(decoder: str) -> None:
    if decoder not in fio.decoders():
        pytest.skip(f"{decoder} is not installed")
    image = np.asarray(Image.fromarray(_photo("coffee")).resize((301, 257)))
    blob = _jpeg(image)
    auto = fio.decoders()[0]
    for k in fio.SCALES:
        got = fio.decode(blob, k, decoder=decoder)
        assert got.shape == (-(-257 // k), -(-301 // k), 3) and got.dtype == np.uint8
        # every decoder wraps libjpeg-turbo with its default (islow) DCT: the same pixels
        assert np.array_equal(got, fio.decode(blob, k, decoder=auto))
        grey = fio.decode(blob, k, "L", decoder=decoder)
        assert grey.shape == (*got.shape[:2], 1)
    full = fio.decode(blob, decoder=decoder).astype(float)
    assert np.abs(full - image).mean() < 3  # quality 95
    # a 1/2 decode is close to the 2x2 means of the full decode (the DCT keeps the low frequencies)
    half = fio.decode(blob, 2, decoder=decoder).astype(float)
    means = fa.resize(np.ascontiguousarray(full[:256, :300].astype(np.uint8)), (128, 150), "area")
    assert np.abs(half[:128, :150] - means).mean() < 2.5


def test_non_jpeg_decodes_at_full_size(tmp_path: Path) -> None:
    image = _photo("chelsea")[:100, :150]
    path = tmp_path / "cat.png"
    Image.fromarray(image).save(path)
    for decoder in fio.decoders():
        for k in (1, 4):
            assert np.array_equal(fio.decode(path, k, decoder=decoder), image)  # scale ignored: lossless, full size
        grey = fio.decode(str(path), decoder=decoder, mode="L")[..., 0].astype(int)
        assert np.abs(grey - np.asarray(Image.open(path).convert("L"))).max() <= 1  # OpenCV's rounding


def test_image_size_reads_headers(tmp_path: Path) -> None:
    image = _photo("rocket")[:123, :217]
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation "rotate 90": not applied, so the header size is the decoded size
    cases = {
        "plain.jpg": _jpeg(image),
        "progressive.jpg": _jpeg(image, progressive=True),
        "exif.jpg": _jpeg(image, exif=exif.tobytes()),
    }
    for name, fmt in (("x.png", "PNG"), ("x.bmp", "BMP"), ("x.webp", "WEBP")):
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, fmt)
        cases[name] = buf.getvalue()
    for name, blob in cases.items():
        (tmp_path / name).write_bytes(blob)
        assert fio.image_size(blob) == (123, 217), name
        assert fio.image_size(tmp_path / name) == (123, 217), name
        assert fio.decode(blob).shape == (123, 217, 3), name
    gray = _jpeg(image[..., 0])
    assert fio.image_size(gray) == (123, 217) and fio.decode(gray).shape == (123, 217, 3)


def test_errors_name_the_argument(tmp_path: Path) -> None:
    blob = _jpeg(_photo("coffee")[:64, :64])
    with pytest.raises(fa.ArgumentError, match=r"source.*cannot read"):
        fio.decode(tmp_path / "missing.jpg")
    with pytest.raises(fa.ArgumentError, match=r"source.*cannot read"):
        fio.image_size(str(tmp_path / "missing.jpg"))
    for decoder in fio.decoders():
        for bad in (b"not an image at all", b"\xff\xd8\xff\xe0 broken jpeg", b""):
            with pytest.raises(fa.ArgumentError, match="source"):
                fio.decode(bad, decoder=decoder)
    with pytest.raises(fa.ArgumentError, match="source"):
        fio.image_size(b"not an image at all")
    for scale in (0, 3, 16, 2.0, True):
        with pytest.raises(fa.ArgumentError, match="scale"):
            fio.decode(blob, scale)
    with pytest.raises(fa.ArgumentError, match="mode"):
        fio.decode(blob, mode="CMYK")
    with pytest.raises(fa.ArgumentError, match="decoder"):
        fio.decode(blob, decoder="nvjpeg")
    with pytest.raises(fa.ArgumentTypeError, match="source"):
        fio.decode(12)
    with pytest.raises(fa.ArgumentError, match="mats"):
        fio.choose_scale(np.eye(3), (8, 8))


# ---------------------------------------------------------------------------------------- scale choice


def _scale(sy: float, sx: float, degrees: float = 0.0) -> np.ndarray:
    """A matrix shrinking the source by sy, sx (source pixels per output pixel), then rotating."""
    t = np.deg2rad(degrees)
    rot = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    return rot @ np.diag([1 / sx, 1 / sy, 1.0])


def test_choose_scale_is_the_largest_power_of_two_below_both_factors() -> None:
    cases = [((1.0, 1.0), 1), ((1.99, 3.0), 1), ((2.0, 2.0), 2), ((3.9, 5.0), 2), ((4.0, 4.0), 4), ((7.9, 9.0), 4)]
    cases += [((8.0, 8.0), 8), ((20.0, 30.0), 8), ((16.0, 2.5), 2), ((0.5, 0.5), 1)]
    mats = np.stack([_scale(*f) for f, _ in cases])
    assert fio.choose_scale(mats, (64, 64)).tolist() == [k for _, k in cases]
    # a rotation keeps the source step per output pixel: the same scale
    assert fio.choose_scale(np.stack([_scale(4.2, 4.2, 30.0)]), (64, 64)).tolist() == [4]
    # a pipeline's own geometry: a RandomResizedCrop of the whole 512 px image to 64 is 8 source pixels per output
    pipe = Compose([RandomResizedCrop(64, scale=(1.0, 1.0), ratio=(1.0, 1.0)), HorizontalFlip()])
    mats, size = pipe.geometry([[512, 512], [512, 256], [100, 100]], SampleRandom([1, 2, 3]))
    assert fio.choose_scale(mats, size).tolist() == [8, 4, 1]


# ------------------------------------------------------------------------------------ crop-aware decode


@pytest.mark.parametrize("out", [112, 64])
def test_crop_aware_matches_full_scale_decode(jpegs: list[Path], out: int) -> None:
    """The crop-aware pipeline (reduced decode + the warp reading it) against the full decode with the same
    keys: the same crop boxes, and pixels that differ only by the DCT low-pass vs the area pre-reduction.
    Measured here: 112 px (scales 1 and 2): mean |diff| 1.3, p99 13; 64 px (scales 2 and 4): mean 2.2,
    p99 18; a crop misplaced by 2 source pixels gives a mean of 5.5-7.6 against the full decode."""
    pipe = Compose([RandomResizedCrop(out, scale=(0.35, 1.0)), HorizontalFlip()], seed=0)
    blobs = [p.read_bytes() for p in jpegs]
    keys = sample_keys(5, 0, np.arange(len(blobs)))
    sizes = np.array([fio.image_size(b) for b in blobs])
    mats, size = pipe.geometry(sizes, SampleRandom(keys))
    scales = fio.choose_scale(mats, size)
    assert (scales > 1).sum() >= len(blobs) // 2  # the test exercises reduced decodes
    reduced = [fio.decode(b, int(k)) for b, k in zip(blobs, scales, strict=True)]
    full = [fio.decode(b) for b in blobs]
    got, got_params = pipe(reduced, rng=SampleRandom(keys), source_sizes=sizes, return_params=True)
    want, want_params = pipe(full, rng=SampleRandom(keys), return_params=True)
    for g, w in zip(got_params, want_params, strict=True):
        assert g.keys() == w.keys() and all(np.array_equal(g[name], w[name]) for name in g)
    diff = np.abs(got.astype(int) - want)
    mean, p99 = diff.mean(), np.percentile(diff, 99)
    assert mean < 2.6 and p99 < 24, (mean, p99)
    # the bound catches a misplaced crop: the same pipeline with every crop 2 source pixels to the right
    moved = [dict(p) for p in want_params]
    moved[0]["left"] = moved[0]["left"] + 2
    misplaced = np.abs(pipe(reduced, params=moved, source_sizes=sizes).astype(int) - want).mean()
    assert misplaced > 2 * mean and misplaced > 3.0, (misplaced, mean)


def test_image_folder_layout_and_samples(jpegs: list[Path]) -> None:
    root = jpegs[0].parent.parent
    (root / "chelsea" / "notes.txt").write_text("not an image")
    ds = fio.ImageFolder(root)
    assert ds.classes == sorted(PHOTOS) and ds.class_to_idx["rocket"] == sorted(PHOTOS).index("rocket")
    assert len(ds) == 12 and all(p.endswith(".jpg") for p, _ in ds.samples)
    image, label = ds[0]
    assert image.dtype == np.uint8 and image.ndim == 3 and label == 0
    assert np.array_equal(image, fio.decode(ds.samples[0][0]))
    assert ds[-1][1] == len(ds.classes) - 1
    with pytest.raises(IndexError):
        ds[12]
    files = fio.ImageFiles(jpegs[:3], [7, 8, 9])
    assert [files[i][1] for i in range(3)] == [7, 8, 9]
    with pytest.raises(fa.ArgumentError, match="labels"):
        fio.ImageFiles(jpegs[:3], [1])
    with pytest.raises(fa.ArgumentError, match="root"):
        fio.ImageFolder(root / "missing")
    with pytest.raises(fa.ArgumentError, match="crop_aware"):
        fio.ImageFolder(root, Compose([Normalize()]))
    with pytest.raises(fa.ArgumentError, match="paths"):
        fio.ImageFiles([root / "nothing.jpg"], pipeline=None)[0]


def test_image_folder_crop_aware_keyed_samples(jpegs: list[Path]) -> None:
    """ImageFolder with a pipeline returns Keyed samples whose keys are the SampleKeys of (seed, fetch,
    index), decoded at the scale of their own crop; the pipeline on them equals the full decode's."""
    root = jpegs[0].parent.parent
    pipe = Compose([RandomResizedCrop(64, scale=(0.35, 1.0)), HorizontalFlip()])
    aware = fio.ImageFolder(root, pipe, seed=11)
    plain = fio.ImageFolder(root, pipe, seed=11, crop_aware=False)
    index = [3, 0, 7, 11]
    a = [aware[i] for i in index]
    p = [plain[i] for i in index]
    assert all(isinstance(s, Keyed) for s in a + p)
    assert [s.key for s in a] == [s.key for s in p] == sample_keys(11, 0, index).tolist()
    assert [aware[3].key, plain[3].key] == sample_keys(11, 1, [3]).tolist() * 2  # the second fetch: epoch 1
    for s, q in zip(a, p, strict=True):
        assert s.source_size == q.item[0].shape[:2] and q.source_size is None and s.item[1] == q.item[1]
    assert sum(s.item[0].shape[0] < s.source_size[0] for s in a) >= 2  # reduced decodes
    keys = [s.key for s in a]
    got = pipe([s.item[0] for s in a], rng=SampleRandom(keys), source_sizes=np.array([s.source_size for s in a]))
    want = pipe([s.item[0] for s in p], rng=SampleRandom(keys))
    assert np.abs(got.astype(int) - want).mean() < 3
    aware.set_epoch(5)
    assert aware[0].key == int(sample_keys(11, 5, [0])[0])
    # a DataLoader's batch fetch (__getitems__: one geometry draw for the batch) gives the same samples
    batched = fio.ImageFolder(root, pipe, seed=11).__getitems__(index)
    assert [s.key for s in batched] == keys and [s.source_size for s in batched] == [s.source_size for s in a]
    assert all(np.array_equal(s.item[0], q.item[0]) for s, q in zip(batched, a, strict=True))


def _fetch(ds: fio.ImageFolder, queue: Any) -> None:
    s = ds[2]
    queue.put((s.key, s.source_size, s.item[0].shape, s.item[1]))


def test_image_folder_pickles_into_spawned_workers(jpegs: list[Path]) -> None:
    root = jpegs[0].parent.parent
    pipe = Compose([RandomResizedCrop(64), HorizontalFlip()], seed=0)
    ds = fio.ImageFolder(root, pipe, seed=4)
    # the shared fetch counts travel to processes as they start (not through a plain pickle.dumps)
    with pytest.raises((RuntimeError, pickle.PicklingError)):
        pickle.dumps(ds)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_fetch, args=(ds, queue))
    proc.start()
    key, source_size, shape, label = queue.get(timeout=120)
    proc.join(timeout=60)
    assert key == int(sample_keys(4, 0, [2])[0]) and label == ds.targets[2]
    assert source_size == fio.image_size(ds.samples[2][0]) and len(shape) == 3
    assert ds[2].key == int(sample_keys(4, 1, [2])[0])  # the spawned worker's fetch counted here too


def test_io_needs_no_torch() -> None:
    code = "import sys, fastaug.io; assert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_image_folder_through_a_dataloader_with_collate(jpegs: list[Path]) -> None:
    """ImageFolder + fastaug.torch.Collate in a DataLoader with 2 workers: each batch equals the pipeline run
    in this process on the same crop-aware decodes with the keys of (seed, epoch, index); the second epoch
    draws from epoch 1's keys."""
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    from fastaug.torch import Collate

    root = jpegs[0].parent.parent
    pipe = Compose([RandomResizedCrop(64, scale=(0.35, 1.0)), HorizontalFlip(), Normalize()])
    ds = fio.ImageFolder(root, pipe, seed=9)
    loader = DataLoader(ds, batch_size=4, num_workers=2, collate_fn=Collate(pipe, seed=0))
    for epoch in range(2):
        got = [(images, labels) for images, labels in loader]
        assert [tuple(b[0].shape) for b in got] == [(4, 3, 64, 64)] * 3
        images = torch.cat([b[0] for b in got]).numpy()
        assert torch.cat([b[1] for b in got]).tolist() == ds.targets
        keys = sample_keys(9, epoch, np.arange(len(ds)))
        sizes = np.array([fio.image_size(p) for p in ds.paths])
        mats, size = pipe.geometry(sizes, SampleRandom(keys))
        decoded = [fio.decode(p, int(k)) for p, k in zip(ds.paths, fio.choose_scale(mats, size), strict=True)]
        want = pipe(decoded, rng=SampleRandom(keys), source_sizes=sizes)
        assert np.array_equal(images, want)
