"""The video section of `rnnkit demo` in quick mode: both classifier rows and the predicted-frames strip."""

from __future__ import annotations

import pytest

import rnnkit.nn


@pytest.mark.skipif(not hasattr(rnnkit.nn, "ConvLSTM"), reason="rnnkit.nn.ConvLSTM is not in this tree yet")
def test_quick_section(tmp_path):
    from rnnkit.video.demo import section

    result = section(tmp_path, quick=True)
    assert "CNN + LSTM" in result.summary and "single-frame" in result.summary
    assert [p.name for p in result.images] == ["predicted_frames.png"] and result.images[0].stat().st_size > 1000
    assert len(list((tmp_path / "video" / "train").glob("*/*.mp4"))) == 16
