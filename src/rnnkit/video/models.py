"""Video models: a per-frame CNN then a recurrent layer over time, a ConvLSTM classifier, a ConvLSTM frame predictor.

:class:`FrameEncoder` is a small CNN (3 x conv-ReLU-maxpool, then a linear layer) that maps one frame to a
feature vector. It keeps *where* things are (it flattens the last feature map instead of pooling it away), which
is what motion needs. :class:`VideoNet` runs it on all valid frames of a batch at once, as one ``(N, C, H, W)``
batch, and then aggregates over time with ``temporal``:

- a recurrent layer by name (``"lstm"``, ``"gru"``, ``"rnn"``): ``rnnkit.nn`` layers, each clip masked to its
  own length (``lengths=``), classified from the final state at its own last frame;
- ``"mean"``: the single-frame baseline: the same CNN, frame features averaged over the clip's valid frames.
  It sees the set of frames but not their order;
- ``"convlstm"``: a convolutional stem, then ``rnnkit.nn.ConvLSTM`` over the feature maps (no flattening
  before time), global mean+max pooling of the last state.

:class:`PredictorNet` predicts the next frame: conv encoder (stride 2) -> ConvLSTM -> transposed-conv decoder,
run over the context frames and then on its own predictions for as many future frames as asked.

Inputs are frames in [0, 1] (or uint8, divided by 255), normalised inside the model by per-channel ``mean``/``std``
fitted on the training data, so a saved model takes raw frames.

Shapes: B clips, T frames, C channels, S frame size (S x S), F frame features, H hidden size, K classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

RECURRENT = ("lstm", "gru", "rnn")
SPECIAL = ("mean", "convlstm")


def temporal_names() -> tuple[str, ...]:
    """Every valid ``temporal``: the recurrent layers ``rnnkit.nn`` knows by name, then "mean" and "convlstm".

    >>> {"lstm", "gru", "mean", "convlstm"} <= set(temporal_names())
    True
    """
    import rnnkit.nn

    names = getattr(rnnkit.nn, "cell_names", lambda: RECURRENT)()
    return (*(n for n in names if not n.startswith("conv")), *SPECIAL)


def check_temporal(name: object) -> str:
    if not isinstance(name, str) or name not in temporal_names():
        raise ValueError(f"unknown temporal model {name!r}; choose one of {', '.join(temporal_names())}")
    return name


def _layer(name: str, input_size: int, hidden_size: int, num_layers: int, dropout: float) -> nn.Module:
    """A batch-first rnnkit recurrent layer by name (``rnnkit.nn.make_layer`` where it exists)."""
    import rnnkit.nn

    make_layer = getattr(rnnkit.nn, "make_layer", None)
    if make_layer is not None:
        return make_layer(name, input_size, hidden_size, num_layers=num_layers, batch_first=True, dropout=dropout)
    cls = {"lstm": rnnkit.nn.LSTM, "gru": rnnkit.nn.GRU, "rnn": rnnkit.nn.RNN}[name]
    return cls(input_size, hidden_size, num_layers=num_layers, batch_first=True, dropout=dropout)


def conv_lstm(in_channels: int, hidden_channels: int, kernel_size: int, num_layers: int) -> nn.Module:
    """``rnnkit.nn.ConvLSTM`` over (B, T, C, S, S), batch first."""
    from rnnkit.nn import ConvLSTM

    return ConvLSTM(in_channels, hidden_channels, kernel_size=kernel_size, num_layers=num_layers, batch_first=True)


def to_unit(x: Tensor) -> Tensor:
    """uint8 frames -> float in [0, 1]; float frames pass through."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x


def valid_mask(lengths: Tensor | None, B: int, T: int, device: torch.device) -> Tensor:
    """(B, T) bool: frame t of clip b is real (t < lengths[b])."""
    if lengths is None:
        return torch.ones(B, T, dtype=torch.bool, device=device)
    return torch.arange(T, device=device) < lengths.to(device)[:, None]


def check_clips(x: Tensor, channels: int, size: int, who: str) -> None:
    if x.dim() != 5 or x.shape[2] != channels or x.shape[3] != size or x.shape[4] != size:
        raise ValueError(
            f"{who}: expected clips of shape (batch, frames, {channels}, {size}, {size}), got {tuple(x.shape)}; "
            "read videos with the model's size and channels"
        )


class FrameEncoder(nn.Module):
    """Small CNN: (N, C, S, S) -> (N, F). ``widths`` conv channels, each followed by ReLU and 2x2 max-pooling.

    >>> FrameEncoder(1, 32, features=16)(torch.zeros(5, 1, 32, 32)).shape
    torch.Size([5, 16])
    """

    def __init__(self, channels: int, size: int, features: int = 64, widths: Sequence[int] = (16, 32, 32)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = channels
        for w in widths:
            layers += [nn.Conv2d(c, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            c = w
        self.convs = nn.Sequential(*layers)
        side = size // 2 ** len(widths)
        if side < 1:
            raise ValueError(f"frames of {size} pixels are too small for {len(widths)} pooling steps")
        self.proj = nn.Sequential(nn.Flatten(), nn.Linear(c * side * side, features), nn.ReLU())

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.convs(x))  # (N, F)


class VideoNet(nn.Module):
    """Clip classifier network: frames (B, T, C, S, S) in [0, 1], lengths (B,) -> logits (B, K).

    >>> net = VideoNet(3, 1, 32, temporal="gru", hidden_size=8, features=8)
    >>> net(torch.rand(2, 4, 1, 32, 32), torch.tensor([4, 2])).shape
    torch.Size([2, 3])
    """

    def __init__(
        self,
        num_classes: int,
        channels: int,
        size: int,
        temporal: str = "lstm",
        hidden_size: int = 64,
        features: int = 64,
        num_layers: int = 1,
        dropout: float = 0.0,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        check_temporal(temporal)
        self.channels, self.size, self.temporal, self.features = channels, size, temporal, features
        self.register_buffer("mean", torch.tensor(mean or [0.0] * channels).view(1, channels, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std or [1.0] * channels).view(1, channels, 1, 1), persistent=False)
        self.drop = nn.Dropout(dropout)
        if temporal == "convlstm":
            # Stem: two conv-ReLU-pool blocks (S -> S/4), then the ConvLSTM keeps the feature maps' layout.
            self.stem = nn.Sequential(
                nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, features, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            )  # fmt: skip
            self.rnn = conv_lstm(features, hidden_size, 3, num_layers)
            self.head = nn.Linear(2 * hidden_size, num_classes)
            return
        self.encoder = FrameEncoder(channels, size, features)
        if temporal == "mean":
            self.head = nn.Linear(features, num_classes)
        else:
            self.rnn = _layer(temporal, features, hidden_size, num_layers, dropout if num_layers > 1 else 0.0)
            self.head = nn.Linear(hidden_size, num_classes)

    mean: Tensor
    std: Tensor

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        B, T = x.shape[:2]
        check_clips(x, self.channels, self.size, "VideoNet")
        mask = valid_mask(lengths, B, T, x.device)  # (B, T)
        frames = (to_unit(x[mask]) - self.mean) / self.std  # (N, C, S, S): only the real frames
        if self.temporal == "convlstm":
            return self._convlstm(frames, mask, lengths)
        feats = frames.new_zeros(B, T, self.features)
        feats[mask] = self.encoder(frames)  # (B, T, F), zero past each clip's length
        if self.temporal == "mean":
            pooled = feats.sum(1) / mask.sum(1, keepdim=True)  # (B, F)
            return self.head(self.drop(pooled))
        _, state = self.rnn(feats, lengths=lengths)
        h_n = state[0] if isinstance(state, tuple) else state  # (L, B, H)
        return self.head(self.drop(h_n[-1]))  # the last layer's state at each clip's own last frame

    def _convlstm(self, frames: Tensor, mask: Tensor, lengths: Tensor | None) -> Tensor:
        maps = self.stem(frames)  # (N, F, S/4, S/4)
        grid = maps.new_zeros(*mask.shape, *maps.shape[1:])  # (B, T, F, S/4, S/4)
        grid[mask] = maps
        _, (h_n, _) = self.rnn(grid, lengths=lengths)  # h_n (L, B, H, S/4, S/4)
        h = h_n[-1]
        pooled = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)  # (B, 2H)
        return self.head(self.drop(pooled))


class PredictorNet(nn.Module):
    """Next-frame predictor: encoder (S -> S/4) -> ConvLSTM -> a motion kernel that moves the previous frame.

    Rather than painting each frame from scratch, the network predicts from the ConvLSTM's state one k x k
    kernel per clip and step (softmax: non-negative, summing to 1) and convolves the previous frame with it:
    a kernel whose weight sits at offset (dy, dx) shifts the frame by (dy, dx), a spread-out one blurs it where
    the motion is uncertain. This is the CDNA transformation of Finn, Goodfellow & Levine (2016), "Unsupervised
    learning for physical interaction through video prediction", with a single kernel. Why: the same network
    with a transposed-conv decoder painting the frame learned only a grey haze in the few hundred steps a
    shared CPU allows (measured on bouncing digits: SSIM 0.03 at 10 frames ahead, copy-last 0.51). The kernel
    starts near the identity (copy the last frame) and only has to learn where things go.

    The ConvLSTM runs at a quarter of the frame size: a digit moving 1-2.5 pixels a frame moves less than one
    cell of its 3x3 kernels per step, and each step costs 16 times less than at full size. The kernel head
    sees the whole flattened state, so it knows where the digit is relative to the walls (for bounces).

    ``forward(x, future)``: ``x`` (B, T, C, S, S) frames -> predicted frames in [0, 1] (B, T - 1 + future, C, S, S):
    frames 2..T each from the true previous frame, then ``future`` frames each from the previous prediction.

    >>> import rnnkit.nn
    >>> net = PredictorNet(1, 16, hidden_size=4, features=4) if hasattr(rnnkit.nn, "ConvLSTM") else None
    >>> net is None or tuple(net(torch.rand(2, 3, 1, 16, 16), future=2).shape) == (2, 4, 1, 16, 16)
    True
    """

    def __init__(
        self, channels: int, size: int, hidden_size: int = 32, num_layers: int = 1, features: int = 16, kernel: int = 7
    ) -> None:
        super().__init__()
        if size % 4:
            raise ValueError(f"the frame predictor needs a frame size divisible by 4, got {size}")
        if kernel % 2 == 0:
            raise ValueError(f"the motion kernel needs an odd size, got {kernel}")
        self.channels, self.size, self.k = channels, size, kernel
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, features, 3, padding=1), nn.ReLU(),
            nn.Conv2d(features, features, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(features, features, 3, stride=2, padding=1), nn.ReLU(),
        )  # fmt: skip
        self.rnn = conv_lstm(features, hidden_size, 3, num_layers)
        self.head = nn.Linear(hidden_size * (size // 4) ** 2, kernel * kernel)
        with torch.no_grad():  # start close to "copy the last frame": most weight on the kernel's centre
            self.head.weight.mul_(0.1)
            self.head.bias.zero_()
            self.head.bias[kernel * kernel // 2] = 5.0

    def _move(self, frames: Tensor, state: Tensor) -> Tensor:
        """frames (N, C, S, S), ConvLSTM output (N, H, S/4, S/4) -> frames moved by the predicted kernels."""
        N, C, S, _ = frames.shape
        kernels = torch.softmax(self.head(state.flatten(1)), dim=-1).view(N, 1, self.k, self.k)  # (N, 1, k, k)
        weight = kernels.repeat_interleave(C, dim=0)  # (N*C, 1, k, k): the same motion for every channel
        moved = F.conv2d(frames.reshape(1, N * C, S, S), weight, padding=self.k // 2, groups=N * C)
        return moved.view(N, C, S, S)

    def forward(self, x: Tensor, future: int = 0) -> Tensor:
        check_clips(x, self.channels, self.size, "PredictorNet")
        x = to_unit(x)
        B, T = x.shape[:2]
        feats = self.encoder(x.flatten(0, 1)).unflatten(0, (B, T))  # (B, T, F, S/4, S/4): all frames at once
        y, state = self.rnn(feats)  # y (B, T, H, S/4, S/4)
        pred = self._move(x.flatten(0, 1), y.flatten(0, 1)).unflatten(0, (B, T))  # frame t+1 from frame t
        out = [pred]
        last = pred[:, -1]  # (B, C, S, S)
        for _ in range(future - 1):
            y_t, state = self.rnn.step(self.encoder(last), state)  # type: ignore[operator]
            last = self._move(last, y_t)
            out.append(last[:, None])
        result = torch.cat(out, dim=1)  # (B, T + future - 1, C, S, S)
        return result if future > 0 else result[:, :-1]
