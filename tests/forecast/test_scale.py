"""Standard scaler and RevIN: rnnkit/forecast/scale.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.forecast.scale import RevIN, StandardScaler


def test_scaler_round_trip_and_serialisation():
    rng = np.random.default_rng(0)
    train = {"a": rng.normal(5, 3, (50, 3)), "b": rng.normal(-2, 0.1, (30, 3))}
    s = StandardScaler().fit(train)
    for sid, x in train.items():
        z = s.transform(sid, x)
        np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
        np.testing.assert_allclose(z.std(0), 1, atol=1e-5)
        np.testing.assert_allclose(s.inverse(sid, z), x, rtol=1e-5, atol=1e-5)
    s2 = StandardScaler.from_dict(json.loads(json.dumps(s.to_dict())))
    np.testing.assert_array_equal(s2.transform("a", train["a"]), s.transform("a", train["a"]))
    # Spreads scale without shifting.
    np.testing.assert_allclose(s.inverse("a", np.ones((1, 3)), scale_only=True)[0], s.std["a"], rtol=1e-6)


def test_scaler_ignores_missing_and_constant_channels():
    x = np.array([[1.0, 4.0], [np.nan, 4.0], [3.0, 4.0]])
    s = StandardScaler().fit({"a": x})
    assert s.mean["a"].tolist() == [2.0, 4.0]
    assert s.std["a"].tolist() == [1.0, 1.0]  # the constant channel gets std 1, not 0


def test_scaler_errors():
    with pytest.raises(ValueError) as err:
        StandardScaler().fit({"a": np.zeros((0, 2))})
    assert str(err.value) == "series 'a': expected non-empty training rows (T, C), got shape (0, 2)"
    with pytest.raises(ValueError) as err:
        StandardScaler().fit({"a": np.array([[np.nan], [np.nan]])})
    assert str(err.value) == "series 'a': a channel has no observed value in the training rows"
    s = StandardScaler().fit({"a": np.ones((3, 1))})
    with pytest.raises(ValueError) as err:
        s.transform("b", np.ones((1, 1)))
    assert str(err.value) == "unknown series id 'b': the scaler was fitted on ['a']"


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(2, 30),
    st.integers(1, 5),
    st.floats(-100, 100),
    st.floats(0.01, 100),
    st.booleans(),
)
def test_revin_is_invertible(batch, length, channels, loc, scale, affine):
    torch.manual_seed(0)
    revin = RevIN(channels, affine=affine)
    if affine:
        with torch.no_grad():
            revin.weight.uniform_(0.5, 2.0)
            revin.bias.uniform_(-1, 1)
    x = torch.randn(batch, length, channels, dtype=torch.float64) * scale + loc
    revin = revin.double()
    z, stats = revin.normalize(x)
    torch.testing.assert_close(revin.denormalize(z, stats), x, rtol=1e-6, atol=1e-6 * scale)
    if not affine:
        torch.testing.assert_close(z.mean(1), torch.zeros(batch, channels, dtype=torch.float64), atol=1e-6, rtol=0)


def test_revin_mask_ignores_missing_steps():
    x = torch.tensor([[[1.0], [3.0], [1000.0]]])
    mask = torch.tensor([[[True], [True], [False]]])
    z, (mean, std) = RevIN(1, affine=False).normalize(x, mask)
    assert float(mean) == pytest.approx(2.0) and float(std) == pytest.approx(1.0, abs=1e-4)
    assert float(z[0, 2, 0]) == 0.0
