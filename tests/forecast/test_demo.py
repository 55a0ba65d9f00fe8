"""The demo section runs in quick mode and returns a plot with an interval band."""

from __future__ import annotations

from rnnkit.forecast.demo import section


def test_demo_section_quick(tmp_path):
    s = section(tmp_path, quick=True)
    assert s.title == "Forecasting: Seattle weather"
    assert "80% coverage" in s.html and "seasonal_naive" in s.html
    # The validation verdict: the network against the best baseline, and which one is kept.
    assert "validation MASE" in s.html and ("is kept" in s.html)
    assert len(s.images) == 1 and s.images[0].stat().st_size > 10_000
