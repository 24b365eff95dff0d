"""`fastaug demo`: the README's "see it work" command writes its gallery and reports a throughput."""

from __future__ import annotations

import pytest

from fastaug.__main__ import main
from fastaug.cli import demo

cv2 = pytest.importorskip("cv2")
pytest.importorskip("skimage")


def test_demo_writes_a_labelled_gallery(tmp_path, capsys):
    path = tmp_path / "gallery.png"
    assert main(["demo", "--output", str(path), "--draws", "3", "--seed", "1"]) == 0
    text = capsys.readouterr().out
    gallery = cv2.imread(str(path))
    tile = demo.TILE
    assert gallery.shape == (len(demo.ROWS) * tile, 170 + 3 * tile, 3)
    # each row holds 3 different draws of its pipeline
    row = gallery[:tile, 170:]
    assert (row[20:, :tile] != row[20:, tile : 2 * tile]).any()
    assert f"{len(demo.ROWS)} pipelines x 3 draws" in text and "images/s" in text


def test_demo_rejects_no_draws(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path / "g.png"), "--draws", "0"]) == 2
    assert "--draws 0: expected at least 1" in capsys.readouterr().err
