"""Orientation and deskew estimates without OCR (cheap): every quarter turn, several skews."""
from __future__ import annotations

import numpy as np
import pytest

from ocr import preprocess
from tests.ocr.conftest import PROSE, render_lines, scan


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return render_lines(PROSE * 3, height_in=11.69)


@pytest.mark.parametrize("turn", [0, 90, 180, 270])
@pytest.mark.parametrize("angle", [-3.7, 1.3])
def test_orientation_and_skew(page, turn, angle):
    skewed = scan(page, angle=angle, noise=6, seed=turn)
    fed = np.ascontiguousarray(np.rot90(skewed, turn // 90))  # fed turned counter-clockwise by `turn`
    out, info = preprocess.prepare(fed)
    assert info["rotation"] == turn, info
    assert abs(info["skew"] + angle) < 0.2, info
    assert out.shape == skewed.shape
    # what comes out is upright and straight: a second look finds nothing left to fix
    again = preprocess.analyse(out)
    assert again["rotation"] == 0 and abs(again["skew"]) <= 0.1


def test_dark_border_and_uneven_light_removed(page):
    a = page.astype(np.float32)
    h, w = a.shape
    a *= (1.0 - 0.3 * np.linspace(0, 1, w))[None, :]
    a[:, :80] = 30
    out, info = preprocess.prepare(a.astype(np.uint8))
    assert info["border_removed"]
    assert out[:, :60].mean() > 240
    assert np.percentile(out, 50) > 240  # paper is white again on the dark side


@pytest.mark.parametrize("turn", [0, 90])
def test_a_strip_of_table_beside_a_sparse_page_does_not_turn_it(turn):
    """A photographed page cut out a little too wide keeps a dark strip of the table along one
    side: one long line that outweighed the few lines of a sparse page in the projections, so
    the page was read sideways. Long thin shapes are left out of the orientation and skew."""
    import cv2

    page = render_lines(PROSE[:8], height_in=11.69)
    page = scan(page, angle=0.8, noise=4, seed=3)
    h, w = page.shape
    # a wedge of the table, a little inside the cut-out's left edge, half the page long
    cv2.fillPoly(page, [np.array([[40, 0], [95, 0], [60, int(0.55 * h)], [45, int(0.55 * h)]], np.int32)], 35)
    fed = np.ascontiguousarray(np.rot90(page, turn // 90))
    info = preprocess.analyse(preprocess.normalize_background(fed)[0])
    assert info["rotation"] == turn, info
    assert abs(info["skew"] + 0.8) < 0.3, info
