"""Variable-length clips and masking, the single-frame baseline's blindness to order, save/load/predict."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit
import rnnkit.nn
from rnnkit.train import TrainConfig
from rnnkit.video import FramePredictor, VideoClassifier
from rnnkit.video.data import Clips, pad_clips
from rnnkit.video.generate import bouncing_digits, moving_digits
from rnnkit.video.models import VideoNet, temporal_names

HAS_CONVLSTM = hasattr(rnnkit.nn, "ConvLSTM")
needs_convlstm = pytest.mark.skipif(not HAS_CONVLSTM, reason="rnnkit.nn.ConvLSTM is not in this tree yet")
TEMPORALS = ["lstm", "gru", "mean", *(["convlstm"] if HAS_CONVLSTM else [])]


@pytest.mark.parametrize("temporal", TEMPORALS)
def test_padding_never_changes_a_clips_output(temporal):
    """A clip alone == the same clip in a batch padded with noise past its length (reference: no padding)."""
    torch.manual_seed(0)
    net = VideoNet(3, 1, 16, temporal=temporal, hidden_size=6, features=6).eval()
    lengths = [5, 2, 3]
    clips = [torch.rand(n, 1, 16, 16) for n in lengths]
    x, lens = pad_clips(clips)  # (3, 5, 1, 16, 16), zeros past each length
    x = torch.where(torch.arange(5).view(1, 5, 1, 1, 1) < lens.view(3, 1, 1, 1, 1), x, torch.rand_like(x))
    batched = net(x, lens)
    for b, clip in enumerate(clips):
        torch.testing.assert_close(batched[b], net(clip[None])[0], atol=1e-5, rtol=1e-5)


def test_baseline_ignores_frame_order_and_the_recurrent_model_does_not():
    torch.manual_seed(0)
    x = torch.rand(2, 6, 1, 16, 16)
    mean = VideoNet(2, 1, 16, temporal="mean", features=8).eval()
    torch.testing.assert_close(mean(x), mean(x.flip(1)))
    lstm = VideoNet(2, 1, 16, temporal="lstm", hidden_size=8, features=8).eval()
    assert not torch.allclose(lstm(x), lstm(x.flip(1)))


@pytest.fixture(scope="module")
def fitted() -> tuple[VideoClassifier, np.ndarray, list[str]]:
    videos, labels = moving_digits(24, frames=6, size=16, digit_size=6, speed=(1.0, 1.5), seed=1)
    model = VideoClassifier("gru", size=16, channels=1, frames=6, hidden_size=8, features=8)
    return model.fit((videos, labels), TrainConfig(epochs=3, batch_size=8, quiet=True)), videos, labels


def test_save_load_predict_round_trip(fitted, tmp_path):
    model, videos, _ = fitted
    loaded = rnnkit.load(model.save(tmp_path / "m"))
    assert isinstance(loaded, VideoClassifier) and loaded.labels == ["left", "right"]
    np.testing.assert_allclose(loaded.predict_proba(videos), model.predict_proba(videos), rtol=0, atol=1e-6)
    top = loaded.top_k(videos[:3], k=2)
    assert [len(t) for t in top] == [2, 2, 2] and all(abs(sum(p for _, p in t) - 1) < 1e-5 for t in top)
    assert model.fit_result is not None and model.fit_result.steps == 9


def test_variable_length_videos_predict_like_each_alone(fitted):
    model, videos, _ = fitted
    mixed = Clips.from_arrays([videos[0], videos[1][:3], videos[2][:1]])
    together = model.predict_proba(mixed)
    alone = np.concatenate([model.predict_proba(Clips.from_arrays([v])) for v in mixed.videos])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_predict_before_fit_and_unknown_temporal():
    with pytest.raises(ValueError, match=r"^VideoClassifier: call fit\(\) before using the model$"):
        VideoClassifier("lstm", size=16, channels=1).predict(np.zeros((1, 2, 16, 16), dtype=np.uint8))
    names = ", ".join(temporal_names())
    with pytest.raises(ValueError, match=f"^unknown temporal model 'transformer'; choose one of {names}$"):
        VideoClassifier("transformer")


@needs_convlstm
def test_frame_predictor_round_trip_and_baselines(tmp_path):
    videos, _ = bouncing_digits(8, frames=8, size=16, digit_size=6, seed=0)
    model = FramePredictor(size=16, channels=1, context=4, horizon=4, hidden_size=4, features=4)
    model.fit(videos, TrainConfig(epochs=1, batch_size=4, quiet=True))
    loaded = rnnkit.load(model.save(tmp_path / "p"))
    np.testing.assert_array_equal(loaded.forecast(videos[0], 6), model.forecast(videos[0], 6))
    scores = model.evaluate(videos)
    assert scores["clips"] == 8 and all(len(scores[k]["mse"]) == 4 for k in ("model", "copy_last", "blank"))
    # copy-last is exact one step ahead only for a still clip; blank's MSE is the mean squared pixel value
    true = videos[:, 4:8].astype(np.float64) / 255
    np.testing.assert_allclose(scores["blank"]["mse"], (true**2).mean(axis=(0, 2, 3)), rtol=1e-6)


def test_seeded_fit_repeats(fitted):
    model, videos, labels = fitted
    again = VideoClassifier("gru", size=16, channels=1, frames=6, hidden_size=8, features=8)
    again.fit((videos, labels), TrainConfig(epochs=3, batch_size=8, quiet=True))
    np.testing.assert_allclose(again.predict_proba(videos), model.predict_proba(videos), rtol=0, atol=1e-6)
