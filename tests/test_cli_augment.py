"""`fastaug augment SRC DST`: outputs and their names, skipped files, determinism, resume, write errors."""

from __future__ import annotations

import argparse
import errno
import io
import json
import os
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from fastaug.cli import augment
from fastaug.transforms import PRESETS

LOSSLESS = (".png", ".bmp", ".tif")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fastaug")
    sub = p.add_subparsers(dest="command", required=True)
    augment.add_parser(sub)
    return p


def _run(*argv: object) -> int:
    args = _parser().parse_args(["augment", *map(str, argv)])
    assert args.func is augment.run
    return args.func(args)


def _write(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)


def _read(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    return img


def _webp_ok() -> bool:
    ok, _ = cv2.imencode(".webp", np.zeros((4, 4, 3), np.uint8))
    return bool(ok)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """SRC with grey, RGB and RGBA images of different sizes in every supported format, two levels deep."""
    rng = np.random.default_rng(1)

    def rand(*shape: int) -> np.ndarray:
        return rng.integers(0, 256, shape, dtype=np.uint8)

    src = tmp_path / "src"
    _write(src / "a.png", rand(40, 50, 3))
    _write(src / "grey.png", rand(33, 21))
    _write(src / "sub" / "alpha.png", rand(25, 35, 4))
    _write(src / "sub" / "photo.JPG", rand(40, 50, 3))
    _write(src / "sub" / "grey.jpeg", rand(30, 30))
    _write(src / "sub" / "deep" / "b.bmp", rand(17, 19, 3))
    _write(src / "sub" / "deep" / "t.tif", rand(22, 18, 4))
    _write(src / "sub" / "deep" / "t2.TIFF", rand(12, 14))
    if _webp_ok():
        _write(src / "w.webp", rand(24, 26, 3))
    (src / "notes.txt").write_text("not an image")
    return src


@pytest.fixture
def invert(tmp_path: Path) -> Path:
    path = tmp_path / "invert.json"
    path.write_text(json.dumps({"fastaug_pipeline": 1, "transforms": [{"name": "RandomInvert", "p": 1.0}]}))
    return path


def _images(src: Path) -> list[Path]:
    return sorted(p for p in src.rglob("*") if p.suffix.lower() in augment.EXTENSIONS)


def _outputs(src: Path, dst: Path, image: Path, k: int) -> list[Path]:
    rel = image.relative_to(src)
    return [dst / rel.parent / f"{image.stem}_aug{i}{image.suffix}" for i in range(k)]


def test_every_image_gets_k_copies_with_its_relative_path_and_channels(tree: Path, invert: Path, tmp_path: Path):
    dst = tmp_path / "dst"
    assert _run(tree, dst, "--copies", 3, "--pipeline", invert) == 0
    expected = {o.relative_to(dst).as_posix() for img in _images(tree) for o in _outputs(tree, dst, img, 3)}
    assert set(_files(dst)) == expected  # nothing else: no temporary file, notes.txt not copied
    for img in _images(tree):
        source = _read(img)
        for out in _outputs(tree, dst, img, 3):
            copy = _read(out)
            assert copy.shape == source.shape, out  # grey stays (H, W), RGBA keeps its alpha
            if img.suffix.lower() in LOSSLESS:
                np.testing.assert_array_equal(copy, 255 - source)
            else:  # JPEG / WebP: inverted up to the codec's loss
                diff = np.abs(copy.astype(int) - (255 - source.astype(int)))
                assert diff.mean() < 12, out


@pytest.mark.parametrize("channels", [3, 4])
def test_pipelines_see_rgb(tmp_path: Path, channels: int):
    grey = tmp_path / "grey.json"
    grey.write_text(json.dumps({"transforms": [{"name": "RandomGrayscale", "p": 1.0}]}))
    src, dst = tmp_path / "src", tmp_path / "dst"
    red = np.zeros((6, 8, channels), np.uint8)
    red[..., 2] = 255  # BGR(A) on disk: pure red
    if channels == 4:
        red[..., 3] = 77
    _write(src / "red.png", red)
    assert _run(src, dst, "-k", 1, "-p", grey) == 0
    out = _read(dst / "red_aug0.png")
    np.testing.assert_array_equal(out[..., :3], 76)  # red's luma: 0.299 * 255 (blue's would be 29)
    if channels == 4:
        np.testing.assert_array_equal(out[..., 3], 77)


def test_light_preset_copies_differ_from_each_other_and_the_input(tmp_path: Path):
    from skimage import data

    src, dst = tmp_path / "src", tmp_path / "dst"
    photo = cv2.resize(data.astronaut(), (64, 64), interpolation=cv2.INTER_AREA)
    _write(src / "astronaut.png", photo[..., ::-1])
    assert _run(src, dst, "--copies", 4, "--pipeline", "light") == 0
    copies = [_read(dst / f"astronaut_aug{i}.png") for i in range(4)]
    for i, c in enumerate(copies):
        assert c.shape == (64, 64, 3)
        assert not np.array_equal(c, photo[..., ::-1])
        for other in copies[i + 1 :]:
            assert not np.array_equal(c, other)


def test_corrupt_empty_and_16bit_files_are_skipped_and_counted(tree: Path, invert: Path, tmp_path: Path, capfd):
    (tree / "bad.png").write_bytes(np.random.default_rng(0).bytes(300))
    (tree / "sub" / "empty.jpg").write_bytes(b"")
    _write(tree / "deep16.png", np.full((8, 8), 40000, np.uint16))
    dst = tmp_path / "dst"
    assert _run(tree, dst, "--copies", 2, "--pipeline", invert) == 0
    out, err = capfd.readouterr()  # capfd: OpenCV's warnings go to file descriptor 2, not sys.stderr
    lines = err.splitlines()
    assert f"skipped {tree / 'bad.png'}: not a readable image (corrupt or truncated)" in lines
    assert f"skipped {tree / 'sub' / 'empty.jpg'}: empty file" in lines
    assert f"skipped {tree / 'deep16.png'}: unsupported 16-bit image" in lines
    assert len(lines) == 3  # one line per skipped file, and OpenCV's own warnings silenced
    n = len(_images(tree)) - 3
    summary = f"augmented {n} images ({2 * n} copies) into {dst}; skipped 3 unreadable; resumed 0 already done"
    assert out.strip() == summary
    assert not list(dst.rglob("bad_aug*")) and not list(dst.rglob("empty_aug*")) and not list(dst.rglob("deep16*"))


def test_src_is_never_modified(tree: Path, invert: Path, tmp_path: Path):
    (tree / "bad.png").write_bytes(b"\x89PNG garbage")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tree.rglob("*") if p.is_file()}
    dirs = sorted(p for p in tree.rglob("*") if p.is_dir())
    for workers in (1, 3):
        assert _run(tree, tmp_path / "dst", "-k", 2, "-p", invert, "--workers", workers) == 0
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tree.rglob("*") if p.is_file()} == before
    assert sorted(p for p in tree.rglob("*") if p.is_dir()) == dirs


def test_same_seed_same_bytes_other_seed_other_bytes(tree: Path, tmp_path: Path):
    for name, seed in (("one", 7), ("two", 7), ("three", 8)):
        assert _run(tree, tmp_path / name, "-k", 2, "-p", "light", "--seed", seed) == 0
    one, two, three = (_files(tmp_path / name) for name in ("one", "two", "three"))
    assert one == two
    pngs = [rel for rel in one if rel.endswith(".png")]
    assert pngs and all(one[rel] != three[rel] for rel in pngs)


def test_workers_give_the_same_bytes(tree: Path, tmp_path: Path):
    for i in range(12):  # enough images for the threads to interleave
        _write(tree / "many" / f"m{i}.png", np.random.default_rng(i).integers(0, 256, (30 + i, 40, 3), np.uint8))
    assert _run(tree, tmp_path / "w1", "-k", 3, "-p", "heavy", "--seed", 3, "--workers", 1) == 0
    assert _run(tree, tmp_path / "w4", "-k", 3, "-p", "heavy", "--seed", 3, "--workers", 4) == 0
    assert _files(tmp_path / "w1") == _files(tmp_path / "w4")


def test_draws_do_not_depend_on_which_files_were_skipped(tree: Path, tmp_path: Path):
    assert _run(tree, tmp_path / "all", "-k", 2, "-p", "light", "--seed", 5) == 0
    (tree / "a.png").unlink()
    (tree / "sub" / "photo.JPG").write_bytes(b"now corrupt")
    assert _run(tree, tmp_path / "some", "-k", 2, "-p", "light", "--seed", 5) == 0
    everything, some = _files(tmp_path / "all"), _files(tmp_path / "some")
    assert len(some) == len(everything) - 4
    assert all(everything[rel] == data for rel, data in some.items())


def test_rerun_resumes_and_rewrites_only_the_missing_output(tree: Path, tmp_path: Path, capsys):
    dst = tmp_path / "dst"
    assert _run(tree, dst, "-k", 2, "-p", "light") == 0
    first = _files(dst)
    old = 1_000_000_000_000_000_000  # an mtime in 2001 that a rewrite would change, whatever the clock resolution
    for p in dst.rglob("*"):
        if p.is_file():
            os.utime(p, ns=(old, old))
    deleted = dst / "sub" / "alpha_aug1.png"
    deleted.unlink()
    capsys.readouterr()
    assert _run(tree, dst, "-k", 2, "-p", "light") == 0
    out = capsys.readouterr().out
    n = len(_images(tree))
    assert f"augmented 1 images (1 copies) into {dst}; skipped 0 unreadable; resumed {n - 1} already done" in out
    assert _files(dst) == first  # the rewritten copy is the same as before
    assert deleted.stat().st_mtime_ns != old
    assert all(p.stat().st_mtime_ns == old for p in dst.rglob("*") if p.is_file() and p != deleted)


def test_leftover_temporary_files_are_removed(tree: Path, invert: Path, tmp_path: Path, capsys):
    dst = tmp_path / "dst"
    assert _run(tree, dst, "-k", 1, "-p", invert) == 0
    leftovers = [dst / ".a_aug0.tmp4242.png", dst / "sub" / ".photo_aug3.tmp17.JPG"]
    kept = [dst / ".hidden.png", dst / "sub" / "notes.tmp1.png"]
    for p in leftovers + kept:
        p.write_bytes(b"partial")
    capsys.readouterr()
    assert _run(tree, dst, "-k", 1, "-p", invert) == 0
    assert not any(p.exists() for p in leftovers)
    assert all(p.exists() for p in kept)  # files that are not ours are left alone
    assert "removed 2 temporary files of an interrupted run" in capsys.readouterr().out


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_dst_is_one_clear_error(tree: Path, invert: Path, tmp_path: Path, capsys):
    dst = tmp_path / "dst"
    dst.mkdir()
    dst.chmod(0o500)
    try:
        assert _run(tree, dst, "-k", 2, "-p", invert) == 1
    finally:
        dst.chmod(0o700)
    err = capsys.readouterr().err
    assert "fastaug augment: error: cannot write" in err and "Permission denied" in err
    assert "Traceback" not in err
    assert not list(dst.rglob("*"))


def test_dst_that_is_a_file_is_one_clear_error(tree: Path, invert: Path, tmp_path: Path, capsys):
    dst = tmp_path / "dst"
    dst.write_text("a file")
    assert _run(tree, dst, "-k", 2, "-p", invert) == 1
    err = capsys.readouterr().err
    assert err.count("fastaug augment: error: cannot write") == 1 and "Traceback" not in err
    assert dst.read_text() == "a file"


@pytest.mark.parametrize("workers", [1, 3])
def test_full_disk_is_one_clear_error_and_leaves_no_partial_file(
    tree: Path, invert: Path, tmp_path: Path, capsys, monkeypatch, workers: int
):
    for i in range(30):
        _write(tree / "more" / f"m{i}.png", np.full((20, 20, 3), i, np.uint8))
    calls = []

    def full_disk(path: Path, data: bytes) -> None:
        calls.append(path)
        path.write_bytes(data[: len(data) // 2])  # a partial temporary file, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(augment, "_write_file", full_disk)
    dst = tmp_path / "dst"
    assert _run(tree, dst, "-k", 2, "-p", invert, "-j", workers) == 1
    err = capsys.readouterr().err
    assert err.count("fastaug augment: error:") == 1
    assert "No space left on device" in err and "Traceback" not in err
    assert [p for p in dst.rglob("*") if p.is_file()] == []
    assert len(calls) < 15  # the run stops at the first error instead of trying all 38 images


def test_failed_encoding_is_an_error(tree: Path, invert: Path, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(cv2, "imencode", lambda ext, img, *a: (False, None))
    assert _run(tree, tmp_path / "dst", "-k", 1, "-p", invert) == 1
    err = capsys.readouterr().err
    assert "fastaug augment: error: cannot encode" in err and "Traceback" not in err


@pytest.mark.parametrize("inside", [".", "out", "sub/out"])
def test_dst_inside_src_is_refused(tree: Path, invert: Path, capsys, inside: str):
    before = _files(tree)
    assert _run(tree, tree / inside, "-k", 1, "-p", invert) == 2
    err = capsys.readouterr().err
    assert "is inside SRC" in err and "a rerun would augment its own outputs" in err
    assert _files(tree) == before


def test_outputs_landing_in_src_are_refused(tmp_path: Path, invert: Path, capsys):
    dst = tmp_path / "d"
    src = dst / "s"
    _write(src / "s" / "x.png", np.zeros((8, 8, 3), np.uint8))  # -> d/s/x_aug0.png: inside SRC
    assert _run(src, dst, "-k", 1, "-p", invert) == 2
    assert "inside SRC" in capsys.readouterr().err
    assert not (src / "x_aug0.png").exists()


def test_src_inside_dst_is_fine_when_outputs_stay_out_of_it(tmp_path: Path, invert: Path):
    dst = tmp_path / "d"
    _write(dst / "s" / "x.png", np.zeros((8, 8, 3), np.uint8))
    assert _run(dst / "s", dst, "-k", 1, "-p", invert) == 0
    assert (dst / "x_aug0.png").exists()


@pytest.mark.parametrize("pipeline", ["imagenet-train", "imagenet-eval", "file"])
def test_a_pipeline_ending_with_normalize_is_refused(tree: Path, tmp_path: Path, capsys, pipeline: str):
    if pipeline == "file":
        path = tmp_path / "norm.json"
        path.write_text(json.dumps({"transforms": [{"name": "HorizontalFlip"}, {"name": "Normalize"}]}))
        pipeline = str(path)
    assert _run(tree, tmp_path / "dst", "-k", 1, "-p", pipeline) == 2
    assert "augment writes images: remove Normalize from the pipeline" in capsys.readouterr().err
    assert not (tmp_path / "dst").exists()


def test_unknown_preset_lists_the_presets(tree: Path, tmp_path: Path, capsys):
    assert _run(tree, tmp_path / "dst", "-k", 1, "-p", "medium") == 2
    err = capsys.readouterr().err
    assert "'medium'" in err and all(name in err for name in PRESETS)
    assert "Traceback" not in err


def test_unreadable_pipeline_file_is_a_usage_error(tree: Path, tmp_path: Path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert _run(tree, tmp_path / "dst", "-k", 1, "-p", bad) == 2
    assert "cannot read it" in capsys.readouterr().err


def test_missing_src_is_a_usage_error(tmp_path: Path, invert: Path, capsys):
    assert _run(tmp_path / "nowhere", tmp_path / "dst", "-k", 1, "-p", invert) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_single_file_src(tree: Path, invert: Path, tmp_path: Path):
    dst = tmp_path / "dst"
    assert _run(tree / "sub" / "alpha.png", dst, "-k", 2, "-p", invert) == 0
    assert sorted(_files(dst)) == ["alpha_aug0.png", "alpha_aug1.png"]
    np.testing.assert_array_equal(_read(dst / "alpha_aug1.png"), 255 - _read(tree / "sub" / "alpha.png"))


def test_an_image_the_pipeline_cannot_take_fails_the_run_but_not_the_others(tmp_path: Path, capsys):
    crop = tmp_path / "crop.json"
    crop.write_text(json.dumps({"transforms": [{"name": "RandomCrop", "size": [20, 20]}]}))
    src = tmp_path / "src"
    _write(src / "big.png", np.zeros((30, 30, 3), np.uint8))
    _write(src / "small.png", np.zeros((10, 10, 3), np.uint8))
    assert _run(src, tmp_path / "dst", "-k", 1, "-p", crop) == 1
    out, err = capsys.readouterr()
    assert f"failed {src / 'small.png'}: RandomCrop" in err
    assert "; failed 1" in out
    assert _read(tmp_path / "dst" / "big_aug0.png").shape == (20, 20, 3)


def test_jpeg_exif_orientation_is_applied(tmp_path: Path):
    image_module = pytest.importorskip("PIL.Image")
    src = tmp_path / "src"
    src.mkdir()
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = 255
    im = image_module.fromarray(pixels)
    exif = im.getexif()
    exif[0x0112] = 6  # displayed rotated 90 degrees clockwise
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    (src / "phone.jpg").write_bytes(buf.getvalue())
    identity = tmp_path / "identity.json"
    identity.write_text(json.dumps({"transforms": []}))
    assert _run(src, tmp_path / "dst", "-k", 1, "-p", identity) == 0
    assert _read(tmp_path / "dst" / "phone_aug0.jpg").shape == (40, 20, 3)  # upright, as a viewer shows it


def test_messages_go_through_the_progress_bar(tree: Path, invert: Path, tmp_path: Path, monkeypatch, capsys):
    events: list[str] = []

    class FakeTqdm:
        def __init__(self, total: int, file: object, **kwargs: object) -> None:
            assert file is sys.stderr
            events.append(f"total {total}")

        @staticmethod
        def write(message: str, file: object = None) -> None:
            events.append(message)

        def update(self) -> None:
            events.append("update")

        def close(self) -> None:
            events.append("close")

    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=FakeTqdm))
    (tree / "bad.png").write_bytes(b"junk")
    assert _run(tree, tmp_path / "dst", "-k", 1, "-p", invert) == 0
    n = len(_images(tree))
    assert events[0] == f"total {n}" and events[-1] == "close"
    assert events.count("update") == n
    assert f"skipped {tree / 'bad.png'}: not a readable image (corrupt or truncated)" in events
    assert capsys.readouterr().err == ""  # every line went through the bar


def test_interrupt_exits_130_with_a_hint(tree: Path, invert: Path, tmp_path: Path, monkeypatch, capsys):
    def interrupted(path: Path) -> np.ndarray:
        raise KeyboardInterrupt

    monkeypatch.setattr(augment, "_read", interrupted)
    assert _run(tree, tmp_path / "dst", "-k", 1, "-p", invert) == 130
    assert "run the same command again to resume" in capsys.readouterr().err


@pytest.mark.parametrize(
    "bad", [["--copies", "0"], ["--copies", "-2"], ["--copies", "two"], ["--workers", "0"], ["--seed", "-1"]]
)
def test_bad_numbers_are_argparse_usage_errors(bad: list[str], capsys):
    argv = ["augment", "src", "dst", "--copies", "1", "--pipeline", "light", *bad]
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(argv)
    assert exc.value.code == 2
    assert "expected an integer" in capsys.readouterr().err


def test_copies_and_pipeline_are_required(capsys):
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(["augment", "src", "dst"])
    assert exc.value.code == 2
    assert "--copies" in capsys.readouterr().err


def test_help_explains_every_option_and_the_naming():
    sub = _parser()._subparsers._group_actions[0].choices["augment"]  # type: ignore[union-attr]
    text = sub.format_help()
    for word in ("SRC", "DST", "--copies", "--pipeline", "--seed", "--workers", "_aug<i>", "exit status", "light"):
        assert word in text
