"""fastaug.train.data.load_dataset: digits, photos, a folder of images and a .npy file as (N, C, H, W) float32
in [-1, 1]; the fixed held-out split; the seeded, nested, disjoint training subsets; the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import fastaug as fa  # noqa: E402
from fastaug.train.data import load_dataset  # noqa: E402


def _check_images(x, c, size):
    assert x.dtype == torch.float32 and x.is_contiguous()
    assert x.shape[1:] == (c, size, size)
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0


def test_digits_shapes_ranges_and_split():
    d = load_dataset("digits")
    _check_images(d.train, 1, 32)
    _check_images(d.held_out, 1, 32)
    assert (len(d.train), len(d.held_out), d.n_train_full) == (1438, 359, 1438)
    assert float(d.train.min()) == -1.0 and float(d.train.max()) == 1.0
    assert d.train_labels.dtype == torch.int64 and set(d.held_out_labels.tolist()) == set(range(10))
    assert d.classes == tuple(str(i) for i in range(10))
    assert np.intersect1d(d.train_indices, d.held_out_indices).size == 0
    assert len(np.union1d(d.train_indices, d.held_out_indices)) == 1797
    small = load_dataset("digits", size=16)
    _check_images(small.train, 1, 16)
    assert np.array_equal(small.held_out_indices, d.held_out_indices)
    # the positions index the source: the held-out images are the 8x8 originals enlarged by fastaug.resize
    from sklearn.datasets import load_digits

    orig = load_digits().images[d.held_out_indices[:5]].astype(np.float32)[..., None] / 8 - 1
    want = np.asarray(fa.resize(np.ascontiguousarray(orig), (32, 32), "linear")).reshape(5, 32, 32)
    assert np.array_equal(d.held_out[:5, 0].numpy(), want)


def test_fraction_is_seeded_nested_and_disjoint_from_held_out():
    full = load_dataset("digits")
    a = load_dataset("digits", fraction=0.1, seed=1)
    assert len(a.train) == round(0.1 * 1438) == len(a.train_labels)
    assert a.n_train_full == 1438
    assert np.array_equal(a.train_indices, load_dataset("digits", fraction=0.1, seed=1).train_indices)
    b = load_dataset("digits", fraction=0.1, seed=2)
    assert not np.array_equal(a.train_indices, b.train_indices)
    for ds in (a, b):
        assert np.array_equal(ds.held_out_indices, full.held_out_indices)  # fixed: never depends on the seed
        assert torch.equal(ds.held_out, full.held_out)
        assert np.intersect1d(ds.train_indices, ds.held_out_indices).size == 0
        pos = np.searchsorted(full.train_indices, ds.train_indices)
        assert torch.equal(ds.train, full.train[torch.from_numpy(pos)])
    twenty = load_dataset("digits", fraction=0.2, seed=1)
    assert np.isin(a.train_indices, twenty.train_indices).all()  # nested for one seed
    assert len(load_dataset("digits", fraction=1e-6).train) == 1


def test_photos():
    p = load_dataset("photos")
    _check_images(p.train, 3, 32)
    _check_images(p.held_out, 3, 32)
    assert len(p.classes) == 5
    assert set(p.held_out_labels.tolist()) == set(range(5)) == set(p.train_labels.tolist())
    assert 0.15 < len(p.held_out) / (len(p.held_out) + len(p.train)) < 0.3
    assert np.intersect1d(p.train_indices, p.held_out_indices).size == 0
    assert float(p.train.std()) > 0.2  # photographs, not blank crops
    sub = load_dataset("photos", fraction=0.5, seed=3)
    assert torch.equal(sub.held_out, p.held_out) and len(sub.train) == round(0.5 * len(p.train))
    gray = load_dataset("photos", size=16, channels=1)
    _check_images(gray.train, 1, 16)


def test_folder_of_images(tmp_path):
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(0)
    for cls, n in (("cats", 4), ("dogs", 3)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            img = rng.integers(0, 256, (40 + 8 * i, 50, 3), dtype=np.uint8)  # mixed sizes, not square
            assert cv2.imwrite(str(tmp_path / cls / f"{i}.png"), img)
    (tmp_path / "dogs" / "broken.jpg").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    with pytest.warns(UserWarning, match="name_or_path: skipped 1 unreadable"):
        d = load_dataset(tmp_path, size=16, split=0.3)
    _check_images(d.train, 3, 16)
    assert len(d.train) + len(d.held_out) == 7 and d.classes == ("cats", "dogs")
    assert sorted(torch.cat([d.train_labels, d.held_out_labels]).tolist()) == [0] * 4 + [1] * 3
    assert load_dataset(str(tmp_path / "cats"), size=8).classes == (".",)

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(fa.ArgumentError, match="name_or_path: no readable image"):
        load_dataset(empty)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(fa.ArgumentError, match=r"name_or_path: no readable image .* 1 unreadable"):
        load_dataset(bad)


def test_npy(tmp_path):
    rng = np.random.default_rng(0)
    gray = tmp_path / "gray.npy"
    np.save(gray, rng.integers(0, 256, (20, 24, 24), dtype=np.uint8))
    d = load_dataset(gray, size=24, fraction=0.5)
    _check_images(d.train, 1, 24)
    assert len(d.train) == 8 and len(d.held_out) == 4 and d.classes == ("0",)
    raw = np.load(gray)[d.held_out_indices]
    assert torch.allclose(d.held_out[:, 0], torch.from_numpy(raw / 127.5 - 1).float(), atol=1e-6)
    rgb = tmp_path / "rgb.npy"
    np.save(rgb, rng.random((10, 20, 30, 3), dtype=np.float32))
    d = load_dataset(rgb, size=16)
    _check_images(d.train, 3, 16)

    for name, arr in (
        ("2d", np.zeros((4, 4), np.uint8)),
        ("channels", np.zeros((4, 8, 8, 2), np.uint8)),
        ("range", np.full((4, 8, 8), 2.0, np.float32)),
        ("dtype", np.zeros((4, 8, 8), np.int32)),
    ):
        path = tmp_path / f"{name}.npy"
        np.save(path, arr)
        with pytest.raises(fa.ArgumentError, match="name_or_path"):
            load_dataset(path)
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"definitely not numpy")
    with pytest.raises(fa.ArgumentError, match="name_or_path: cannot read"):
        load_dataset(junk)
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([None, 1], dtype=object), allow_pickle=True)
    with pytest.raises(fa.ArgumentError, match="name_or_path"):
        load_dataset(obj)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name_or_path": "mnist"}, "name_or_path: unknown dataset 'mnist'"),
        ({"fraction": 0}, "fraction: expected 0 < fraction <= 1"),
        ({"fraction": 1.5}, "fraction"),
        ({"fraction": -0.1}, "fraction"),
        ({"fraction": math.nan}, "fraction"),
        ({"split": 0.0}, "split: expected 0 < split < 1"),
        ({"split": 1.0}, "split"),
        ({"size": 2}, "size"),
        ({"seed": -1}, "seed"),
        ({"channels": 2}, "channels"),
    ],
)
def test_errors(kwargs, match):
    kwargs = {"name_or_path": "digits", **kwargs}
    with pytest.raises(fa.ArgumentError, match=match):
        load_dataset(**kwargs)


def test_type_errors(tmp_path):
    with pytest.raises(fa.ArgumentTypeError, match="fraction"):
        load_dataset("digits", fraction=True)
    with pytest.raises(fa.ArgumentTypeError, match="fraction"):
        load_dataset("digits", fraction="0.5")
    with pytest.raises(fa.ArgumentTypeError, match="name_or_path"):
        load_dataset(3)
    other = tmp_path / "x.csv"
    other.write_text("1,2")
    with pytest.raises(fa.ArgumentError, match=r"name_or_path: .* neither a folder of images nor a \.npy file"):
        load_dataset(other)
