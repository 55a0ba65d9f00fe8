"""rnnkit.video: classify video clips with a CNN + recurrent layer or a ConvLSTM, and predict the next frames.

- :class:`VideoClassifier`: ``VideoClassifier("lstm").fit(data).predict(files)``; ``save(dir)``/``rnnkit.load``;
- :class:`FramePredictor`: ``FramePredictor().fit(data).forecast(file, frames=10)``;
- :func:`read_video` / :func:`write_video`: mp4, avi, webm, gif (PyAV), folders of frame images, ``.npy``/``.npz``;
- :mod:`rnnkit.video.generate`: labelled videos of moving digits, as arrays and as real video files.

The command line (``rnnkit video train | predict | eval | forecast | generate``) is a thin layer over these.
"""

from rnnkit.video.classifier import VideoClassifier
from rnnkit.video.data import Clips, VideoSet, decode, load_folder
from rnnkit.video.io import VideoReadError, read_video, write_video
from rnnkit.video.predictor import FramePredictor

__all__ = [
    "Clips",
    "FramePredictor",
    "VideoClassifier",
    "VideoReadError",
    "VideoSet",
    "decode",
    "load_folder",
    "read_video",
    "write_video",
]
