"""Real tasks at the same wall-clock budget: do the extended cells help? (issue 16, must-show 3)

1. tiny-shakespeare character LM: plain LSTM (fused) vs layer-norm LSTM vs LSTM with recurrent dropout, each
   trained for ``--minutes`` of wall clock (same model size, data order and seed); validation nats/char on the
   last 10% of the text.
2. ETTh1 (OT and the six loads, 7 channels), lookback 96 -> horizon 96: GRU (fused) vs minGRU encoder, each for
   ``--minutes``; MSE on the standard 12/4/4-month split (normalised with training statistics), test MSE
   of the checkpoint with the best validation MSE, beside the naive forecast that repeats the last value.

The models are built here from ``rnnkit.nn.make_layer`` (the applications' own ``--cell`` choices do not include
the extended cells yet). Each run is seeded; the wall-clock budget makes the number of steps load-dependent, so
quote results from a quiet machine:

    RNNKIT_DATA=... python benchmarks/cells_tasks.py --minutes 15 [--task lm|ett|both] [--threads 2]
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).parent))
import rnnkit.nn as rnn
from _common import append_results, markdown_table
from rnnkit import data_dir

LM_VARIANTS = {
    "LSTM (fused)": ("lstm", {}),
    "LSTM(layer_norm=True)": ("ln_lstm", {}),
    "LSTM(recurrent_dropout=0.25)": ("lstm", {"recurrent_dropout": 0.25}),
}
ETT_VARIANTS = {"GRU (fused)": ("gru", {}), "MinGRU": ("mingru", {})}


class CharLM(nn.Module):
    """Embedding -> one recurrent layer from the registry -> vocabulary logits."""

    def __init__(self, vocab: int, cell: str, hidden: int, **options: object) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, 64)
        self.rnn = rnn.make_layer(cell, 64, hidden, batch_first=True, **options)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, ids: Tensor, state: object = None) -> tuple[Tensor, object]:
        y, state = self.rnn(self.embed(ids), state)  # (B, T, H)
        return self.head(y), state


def _detach(state: object) -> object:
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()  # type: ignore[union-attr]


def run_lm(minutes: float, hidden: int, seed: int) -> list[list[object]]:
    text = data_dir("tinyshakespeare", "input.txt").read_text(encoding="utf-8")
    chars = sorted(set(text))
    ids = torch.tensor([chars.index(c) for c in text], dtype=torch.long)
    split = int(0.9 * len(ids))
    train, val = ids[:split], ids[split:]
    B, T = 32, 128
    rows: list[list[object]] = []
    for name, (cell, options) in LM_VARIANTS.items():
        torch.manual_seed(seed)
        model = CharLM(len(chars), cell, hidden, **options)
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        stream = train[: (len(train) - 1) // B * B + 1]
        cols = (len(stream) - 1) // B
        inputs, targets = stream[:-1].view(B, cols), stream[1:].view(B, cols)  # B parallel streams, TBPTT
        start, steps, state, pos = time.perf_counter(), 0, None, 0
        model.train()
        while time.perf_counter() - start < minutes * 60:
            if pos + T > cols:
                pos, state = 0, None
            logits, state = model(inputs[:, pos : pos + T], state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets[:, pos : pos + T].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            state, pos, steps = _detach(state), pos + T, steps + 1
        elapsed = time.perf_counter() - start
        rows.append([name, steps, f"{elapsed / 60:.1f}", f"{lm_eval(model, val, B, T):.4f}"])
        print(rows[-1], flush=True)
    return rows


@torch.no_grad()
def lm_eval(model: CharLM, val: Tensor, B: int, T: int) -> float:
    """Validation nats/char over the whole held-out stream (B streams, state carried)."""
    model.eval()
    stream = val[: (len(val) - 1) // B * B + 1]
    cols = (len(stream) - 1) // B
    inputs, targets = stream[:-1].view(B, cols), stream[1:].view(B, cols)
    total, count, state = 0.0, 0, None
    for pos in range(0, cols, T):
        logits, state = model(inputs[:, pos : pos + T], state)
        y = targets[:, pos : pos + T]
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    return total / count


class Forecaster(nn.Module):
    """Recurrent encoder over the lookback window -> linear map of the last state to the whole horizon."""

    def __init__(self, cell: str, channels: int, hidden: int, horizon: int, **options: object) -> None:
        super().__init__()
        self.rnn = rnn.make_layer(cell, channels, hidden, batch_first=True, **options)
        self.head = nn.Linear(hidden, horizon * channels)
        self.horizon, self.channels = horizon, channels

    def forward(self, x: Tensor) -> Tensor:
        y, _ = self.rnn(x)  # (B, L, H)
        return self.head(y[:, -1]).view(-1, self.horizon, self.channels)


def _windows(series: np.ndarray, lookback: int, horizon: int) -> tuple[Tensor, Tensor]:
    n = len(series) - lookback - horizon + 1
    idx = np.arange(lookback + horizon)[None, :] + np.arange(n)[:, None]
    w = torch.tensor(series[idx], dtype=torch.float32)  # (N, L + Hz, C)
    return w[:, :lookback], w[:, lookback:]


def run_ett(minutes: float, hidden: int, seed: int) -> list[list[object]]:
    raw = np.loadtxt(data_dir("timeseries", "ETTh1.csv"), delimiter=",", skiprows=1, usecols=range(1, 8))
    L, Hz = 96, 96
    n_train, n_val = 12 * 30 * 24, 4 * 30 * 24  # the standard ETTh1 split
    mean, std = raw[:n_train].mean(0), raw[:n_train].std(0)
    series = (raw - mean) / std
    train = _windows(series[:n_train], L, Hz)
    val = _windows(series[n_train - L : n_train + n_val], L, Hz)
    test = _windows(series[n_train + n_val - L : n_train + 2 * n_val], L, Hz)
    rows: list[list[object]] = []
    for name, (cell, options) in ETT_VARIANTS.items():
        torch.manual_seed(seed)
        model = Forecaster(cell, 7, hidden, Hz, **options)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        best, best_state, epochs = math.inf, copy.deepcopy(model.state_dict()), 0
        start = time.perf_counter()
        while time.perf_counter() - start < minutes * 60:
            model.train()
            for batch in torch.randperm(len(train[0])).split(64):
                loss = F.mse_loss(model(train[0][batch]), train[1][batch])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if time.perf_counter() - start >= minutes * 60:
                    break
            epochs += 1
            mse = _mse(model, val)
            if mse < best:
                best, best_state = mse, copy.deepcopy(model.state_dict())
        elapsed = time.perf_counter() - start
        model.load_state_dict(best_state)
        rows.append([name, epochs, f"{elapsed / 60:.1f}", f"{best:.4f}", f"{_mse(model, test):.4f}"])
        print(rows[-1], flush=True)
    naive = [F.mse_loss(x[:, -1:].expand_as(y), y).item() for x, y in (val, test)]  # repeat the last value
    rows.append(["repeat the last value (no training)", 0, "0.0", f"{naive[0]:.4f}", f"{naive[1]:.4f}"])
    return rows


@torch.no_grad()
def _mse(model: Forecaster, data: tuple[Tensor, Tensor]) -> float:
    model.eval()
    errs = [F.mse_loss(model(x), y, reduction="sum").item() for x, y in zip(data[0].split(256), data[1].split(256))]
    return sum(errs) / data[1].numel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=15.0, help="wall-clock training budget per variant")
    parser.add_argument("--task", choices=["lm", "ett", "both"], default="both")
    parser.add_argument("--hidden", type=int, default=256, help="hidden size of every model")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--note", default="", help='a line under the tables, e.g. "measured under load"')
    parser.add_argument("--no-append", action="store_true", help="print the tables only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    command = "python benchmarks/cells_tasks.py " + " ".join(sys.argv[1:])
    if args.task in ("lm", "both"):
        rows = run_lm(args.minutes, args.hidden, args.seed)
        table = markdown_table(["tiny-shakespeare char LM", "steps", "minutes", "val nats/char"], rows)
        print(table)
        if not args.no_append:
            append_results("Extended cells on the char LM at equal wall clock", table, command, args.note)
    if args.task in ("ett", "both"):
        rows = run_ett(args.minutes, args.hidden, args.seed)
        table = markdown_table(["ETTh1 96->96, 7 channels", "epochs", "minutes", "val MSE", "test MSE"], rows)
        print(table)
        if not args.no_append:
            append_results("minGRU vs GRU on ETTh1 at equal wall clock", table, command, args.note)


if __name__ == "__main__":
    main()
