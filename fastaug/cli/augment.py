"""`fastaug augment SRC DST`: K augmented copies of every image under SRC, written under DST with the same
relative paths, as DST/<relative dir>/<stem>_aug<i><suffix> for i in 0..K-1.

How it stays safe to interrupt and rerun:
- each image draws from its own generator, seeded by (--seed, its path relative to SRC), so its copies do not
  depend on which other files were skipped or already done, nor on the number of worker threads;
- each output is written to a hidden temporary file in its final directory, then os.replace()d onto its name:
  an interrupted run leaves no truncated image, only temporary files that the next run removes;
- a rerun skips the images whose K outputs all exist (and writes only the missing copies of the others).

Files are decoded and encoded with OpenCV, whose codecs release the GIL, so --workers threads overlap."""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import os
import re
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

import fastaug as fa
import fastaug.transforms as T

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
_JPEG = (".jpg", ".jpeg")
# the temporary name of DST/dir/<stem>_aug<i><suffix> is DST/dir/.<stem>_aug<i>.tmp<pid><suffix>
_TEMPORARY = re.compile(r"\..+_aug\d+\.tmp\d+(" + "|".join(re.escape(e) for e in EXTENSIONS) + ")", re.IGNORECASE)

NAMING = """\
outputs:
  DST/<relative dir>/<stem>_aug<i><suffix> for i in 0..K-1, e.g. SRC/cats/a.jpg -> DST/cats/a_aug0.jpg,
  DST/cats/a_aug1.jpg, ... (SRC a single file: DST/<stem>_aug<i><suffix>). Grey images stay grey, RGBA
  images keep their alpha, the format follows the suffix.

  Rerunning the same command resumes: images whose K outputs exist are skipped, and the temporary files
  (.<stem>_aug<i>.tmp<pid><suffix>) an interrupted run left in DST are removed. The same --seed gives the
  same copies, whatever --workers and whichever files were done before.

exit status: 0 done (unreadable files are skipped, not errors), 1 an output could not be written or an
image could not be augmented, 2 a usage error."""


class _UsageError(Exception):
    """A bad argument or environment: exit status 2."""


class _WriteError(Exception):
    """An output that cannot be encoded or written (read-only DST, full disk): the run stops, exit status 1."""


class _Skip(Exception):
    """A source file that cannot be decoded (corrupt, empty, 16-bit): skipped and counted."""


@dataclass(frozen=True)
class _Job:
    src: Path
    rel: str  # the path relative to SRC, with '/': part of the image's seed
    outputs: tuple[Path, ...]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "augment",
        help="write K augmented copies of every image in a folder tree",
        description="Writes K augmented copies of every image under SRC (searched recursively) into DST,\n"
        "with the same relative paths. SRC is never modified.",
        epilog=NAMING,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "src",
        metavar="SRC",
        help=f"an image file, or a folder searched recursively for {' '.join(EXTENSIONS)} files (any case)",
    )
    p.add_argument("dst", metavar="DST", help="the output folder, created if needed; must not be SRC or inside it")
    p.add_argument("--copies", "-k", metavar="K", type=_positive_int, required=True, help="copies per image (>= 1)")
    p.add_argument(
        "--pipeline",
        "-p",
        metavar="FILE|PRESET",
        required=True,
        help=f"a pipeline file (.json, or .yaml with PyYAML) or a preset: {', '.join(T.PRESETS)}. It must write "
        "images: a pipeline ending with Normalize is refused (so are the imagenet-* presets)",
    )
    p.add_argument(
        "--seed",
        metavar="S",
        type=_non_negative_int,
        default=0,
        help="random seed (default: 0); same seed, same copies",
    )
    p.add_argument(
        "--workers",
        "-j",
        metavar="W",
        type=_positive_int,
        default=1,
        help="threads that decode, augment and encode images in parallel (default: 1); the copies are the "
        "same whatever W",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _augment(args)
    except _UsageError as e:
        _error(str(e))
        return 2
    except _WriteError as e:
        _error(str(e))
        return 1
    except KeyboardInterrupt:
        _error("interrupted; run the same command again to resume")
        return 130


def _augment(args: argparse.Namespace) -> int:
    _require_cv2()
    pipeline = _load_pipeline(args.pipeline)
    src, dst = Path(args.src), Path(args.dst)
    jobs, unreadable_dirs = _plan(src, dst, args.copies)
    counts: Counter[str] = Counter(removed=_remove_temporaries(dst))
    bar = _progress_bar(len(jobs))
    say: Callable[[str], None] = (lambda m: bar.write(m, file=sys.stderr)) if bar else _error_line
    for message in unreadable_dirs:
        say(message)
        counts["skipped"] += 1
    # W threads each running fastaug's multithreaded kernels would oversubscribe the cores
    threads = 1 if args.workers > 1 else None
    try:
        with _quiet_opencv(), _fastaug_threads(threads):
            for status, written, message in _run_jobs(jobs, pipeline, args.seed, args.workers):
                counts[status] += 1
                counts["copies"] += written
                if message:
                    say(message)
                if bar:
                    bar.update()
    finally:
        if bar:
            bar.close()
    summary = (
        f"augmented {counts['done']} images ({counts['copies']} copies) into {dst}; "
        f"skipped {counts['skipped']} unreadable; resumed {counts['resumed']} already done"
    )
    if counts["failed"]:
        summary += f"; failed {counts['failed']}"
    if counts["removed"]:
        summary += f"; removed {counts['removed']} temporary files of an interrupted run"
    print(summary)
    return 1 if counts["failed"] else 0


def _require_cv2() -> None:
    try:
        import cv2  # noqa: F401
    except ImportError as e:
        raise _UsageError(
            "fastaug augment reads and writes images with OpenCV: pip install opencv-python-headless"
        ) from e


def _load_pipeline(source: str) -> T.Compose:
    try:
        pipeline = T.load(source)
    except fa.ArgumentError as e:
        raise _UsageError(f"--pipeline: {e}") from e
    except (OSError, ValueError, TypeError) as e:  # an unreadable file, bad JSON, a malformed spec
        raise _UsageError(f"--pipeline {source}: cannot read it: {e}") from e
    if pipeline.transforms and isinstance(pipeline.transforms[-1], T.Normalize):
        raise _UsageError(
            f"--pipeline {source}: augment writes images: remove Normalize from the pipeline "
            "(it ends with Normalize, whose float32 CHW output is no image file)"
        )
    return pipeline


def _plan(src: Path, dst: Path, k: int) -> tuple[list[_Job], list[str]]:
    """The jobs (one per source image, sorted by path) and a 'skipped' line per unreadable subfolder."""
    if not src.exists():
        raise _UsageError(f"SRC {src}: no such file or folder")
    src_r, dst_r = src.resolve(), dst.resolve()
    unreadable: list[str] = []
    folder = src.is_dir()
    if folder:
        if _inside(dst_r, src_r):
            raise _UsageError(
                f"DST {dst} is inside SRC {src}: a rerun would augment its own outputs; choose a DST outside SRC"
            )
        found = _find_images(src, lambda e: unreadable.append(f"skipped {e.filename}: {e.strerror}"))
    elif src.suffix.lower() in EXTENSIONS:
        found = iter([(src, src.name)])
    else:
        raise _UsageError(f"SRC {src}: not an image file ({' '.join(EXTENSIONS)}) nor a folder")
    jobs = []
    for path, rel in found:
        rel_dir = PurePosixPath(rel).parent
        if folder and _inside(dst_r / rel_dir, src_r):  # SRC inside DST: SRC/x/a.png -> DST/x/, which may be SRC
            raise _UsageError(f"{path} would be augmented into {dst / rel_dir}, inside SRC {src}; choose another DST")
        stem, suffix = os.path.splitext(PurePosixPath(rel).name)
        jobs.append(_Job(path, rel, tuple(dst / rel_dir / f"{stem}_aug{i}{suffix}" for i in range(k))))
    return jobs, unreadable


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _find_images(src: Path, onerror: Callable[[OSError], None]) -> Iterator[tuple[Path, str]]:
    """(path, path relative to src with '/') of every image under src, in a stable order."""
    for top, dirs, files in os.walk(src, onerror=onerror):
        dirs.sort()
        for name in sorted(files):
            if os.path.splitext(name)[1].lower() in EXTENSIONS:
                path = Path(top, name)
                yield path, path.relative_to(src).as_posix()


def _remove_temporaries(dst: Path) -> int:
    """Removes the temporary files an interrupted run left under dst; how many."""
    removed = 0
    for top, _, files in os.walk(dst):
        for name in files:
            if _TEMPORARY.fullmatch(name):
                try:
                    os.unlink(os.path.join(top, name))
                except OSError as e:
                    raise _WriteError(f"cannot remove {os.path.join(top, name)}: {e.strerror}") from e
                removed += 1
    return removed


def _run_jobs(jobs: list[_Job], pipeline: T.Compose, seed: int, workers: int) -> Iterator[tuple[str, int, str]]:
    """(status, copies written, message) of each job, in the jobs' order. A _WriteError stops the run."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix="fastaug-augment")
    stop = threading.Event()  # set by the first write error: the jobs not yet started then do nothing

    def process(job: _Job) -> tuple[str, int, str]:
        if stop.is_set():
            return "cancelled", 0, ""
        try:
            return _process(job, pipeline, seed)
        except _WriteError:
            stop.set()
            raise

    try:
        futures = [pool.submit(process, job) for job in jobs]
        for future in futures:
            yield future.result()
    finally:
        # on an error or an interrupt: drop the queued jobs, let the running ones finish their writes
        pool.shutdown(wait=True, cancel_futures=True)


def _process(job: _Job, pipeline: T.Compose, seed: int) -> tuple[str, int, str]:
    missing = [i for i, out in enumerate(job.outputs) if not out.exists()]
    if not missing:
        return "resumed", 0, ""
    try:
        image = _read(job.src)
    except _Skip as e:
        return "skipped", 0, f"skipped {job.src}: {e}"
    try:
        copies = _augment_image(_seeded(pipeline, seed, job.rel), image, len(job.outputs))
    except fa.FastaugError as e:  # e.g. a crop larger than this image
        return "failed", 0, f"failed {job.src}: {e}"
    # all K copies are drawn (so each copy's draw is fixed), but only the missing ones are written
    for i in missing:
        _write(job.outputs[i], copies[i])
    return "done", len(missing), ""


def _seeded(pipeline: T.Compose, seed: int, rel: str) -> T.Compose:
    """The pipeline with the image's own generator. A 64-bit hash of the path: a 32-bit one (crc32) would
    give two images the same draws once a dataset holds some 10^5 files."""
    key = int.from_bytes(hashlib.blake2b(rel.encode(), digest_size=8).digest(), "little")
    own = copy.copy(pipeline)  # shares the (stateless) transforms; each thread gets its own rng
    own.rng = np.random.default_rng([seed, key])
    return own


def _read(path: Path) -> np.ndarray:
    """The image as (H, W, C) uint8 RGB(A), C in 1, 3, 4."""
    import cv2

    try:
        data = np.fromfile(path, np.uint8)  # read here (not cv2.imread) to report why a file cannot be read
    except OSError as e:
        raise _Skip(e.strerror or str(e)) from e
    if data.size == 0:
        raise _Skip("empty file")
    # JPEG has no alpha: decode it so that its EXIF orientation is applied (IMREAD_UNCHANGED ignores it) and
    # the copies show the right way up, as the original does
    jpeg = path.suffix.lower() in _JPEG
    try:
        img = cv2.imdecode(data, cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH if jpeg else cv2.IMREAD_UNCHANGED)
    except cv2.error as e:
        raise _Skip(f"cannot decode: {e}") from e
    if img is None:
        raise _Skip("not a readable image (corrupt or truncated)")
    if img.dtype != np.uint8:
        raise _Skip("unsupported 16-bit image" if img.dtype == np.uint16 else f"unsupported {img.dtype} image")
    if img.ndim == 2:
        return img[..., None]
    if img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    raise _Skip(f"unsupported channel count {img.shape[2]}")


def _augment_image(pipeline: T.Compose, image: np.ndarray, k: int) -> np.ndarray:
    """K copies as one batch: each sample gets its own draw."""
    out = np.asarray(pipeline(np.repeat(image[None], k, axis=0)))
    if out.dtype != np.uint8 or out.ndim != 4:
        raise fa.ArgumentError(f"the pipeline returned {out.dtype} {out.shape}, expected uint8 images")
    return out


def _write(path: Path, image: np.ndarray) -> None:
    """Encodes image (H, W, C) RGB(A) by path's suffix and writes it atomically."""
    data = _encode(image, path)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_file(tmp, data)
        os.replace(tmp, path)
    except OSError as e:
        raise _WriteError(f"cannot write {path}: {e.strerror or e}") from e
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()  # already gone after os.replace; a partial file after an error


def _encode(image: np.ndarray, path: Path) -> bytes:
    import cv2

    channels = image.shape[2]
    if channels == 1:
        image = image[..., 0]
    elif channels == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif channels == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    try:
        ok, buf = cv2.imencode(path.suffix.lower(), image)
    except cv2.error as e:
        raise _WriteError(f"cannot encode {path}: {e}") from e
    if not ok:
        raise _WriteError(f"cannot encode {path}: OpenCV has no {path.suffix} encoder for {image.shape} images")
    return buf.tobytes()


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def _progress_bar(total: int) -> Any:
    """A tqdm bar on stderr if tqdm is installed (and there is something to do), else None."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="image", file=sys.stderr, disable=None) if total else None


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silences OpenCV's own warnings (libtiff's, libpng's) while decoding: each bad file gets one line, ours."""
    import cv2

    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)


@contextlib.contextmanager
def _fastaug_threads(n: int | None) -> Iterator[None]:
    """fastaug's kernel threads set to n (None: unchanged) for the run, then restored."""
    if n is None:
        yield
        return
    before = fa.get_num_threads()
    fa.set_num_threads(n)
    try:
        yield
    finally:
        fa.set_num_threads(before)


def _positive_int(text: str) -> int:
    return _int_at_least(text, 1)


def _non_negative_int(text: str) -> int:
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
    return value


def _error(message: str) -> None:
    print(f"fastaug augment: error: {message}", file=sys.stderr)


def _error_line(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
