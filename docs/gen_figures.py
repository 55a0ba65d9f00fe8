"""Make the figures and samples of the tutorial's application pages from real runs: ``python docs/gen_figures.py``.

Each run uses rnnkit's own commands and functions on data that ships with Python or a dependency (no download),
with a fixed amount of work (steps or epochs, never minutes), so its numbers do not depend on how busy the machine
is. Images are shrunk to stay small in the repository (< 200 KB each). Each run's summary is written as text next
to its figure (docs/img/<page>_summary.txt) and included in the page, so a page never shows numbers from another
run than its picture. ``--only text`` reruns one page's. About 10 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

IMG = Path(__file__).resolve().parent / "img"


def shrink(source: Path, target: Path, max_width: int = 1000, limit: int = 200_000) -> None:
    """Copy a PNG, downscaled to at most ``max_width`` pixels and quantised to a palette to stay under ``limit``."""
    from PIL import Image

    image = Image.open(source).convert("RGB")
    if image.width > max_width:
        image = image.resize((max_width, round(image.height * max_width / image.width)), Image.LANCZOS)
    image.quantize(colors=128).save(target, optimize=True)
    if target.stat().st_size > limit:
        raise RuntimeError(f"{target} is {target.stat().st_size} bytes, over {limit}")


def machine() -> str:
    cpu = platform.machine()
    with contextlib.suppress(OSError, StopIteration):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    threads = f"{torch.get_num_threads()} thread" + ("s" if torch.get_num_threads() > 1 else "")
    return f"{cpu}, {threads}, torch {torch.__version__}, Python {platform.python_version()}"


def text(tmp: Path) -> str:
    """A character-level LSTM on CPython's help texts, then a sample."""
    from rnnkit.text.cli import TextTrainConfig, load_lm, train
    from rnnkit.text.demo import corpus
    from rnnkit.text.generate import generate

    data = tmp / "topics.txt"
    data.write_text(corpus(), encoding="utf-8")
    config = TextTrainConfig(
        data=str(data), out=str(tmp / "lm"), level="char", embed_size=64, hidden_size=192, num_layers=1,
        bptt=64, batch_size=32, lr=4e-3, warmup_steps=20, max_steps=800, val_every=100, early_stopping=None,
        quiet=True,
    )  # fmt: skip
    metrics = train(config)
    prompt = "The if statement"
    sample = generate(load_lm(tmp / "lm"), prompt, 400, temperature=0.7, seed=0)
    (IMG / "text_sample.txt").write_text(prompt + str(sample) + "\n", encoding="utf-8")
    shrink(tmp / "lm" / "curves.png", IMG / "text_curves.png")
    return (
        f"rnnkit text train --data topics.txt --level char --embed_size 64 --hidden_size 192 --num_layers 1 "
        f"--bptt 64 --batch_size 32 --lr 4e-3 --warmup_steps 20 --max_steps 800\n"
        f"corpus: pydoc_data.topics, {len(data.read_text(encoding='utf-8')):,} characters (last 10% validation)\n"
        f"model: 1-layer LSTM, 192 units, {metrics['parameters']:,} parameters; {metrics['steps']} steps\n"
        f"validation: {metrics['val_loss']:.3f} nats/char, {metrics['val_bpc']:.3f} bits/char\n"
        f"sample: temperature 0.7, seed 0"
    )


def classify(tmp: Path) -> str:
    """RNN, GRU and LSTM classifiers on JapaneseVowels with the classify defaults and a fixed number of epochs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnnkit.classify.cli import TrainArgs, train

    rows, histories = [], {}
    for cell in ("rnn", "gru", "lstm"):
        out = tmp / cell
        args = TrainArgs(
            dataset="JapaneseVowels", out=str(out), cell=cell, epochs=30, ensemble=1, time_budget=None, quiet=True
        )
        metrics = train(args)
        log = out / "metrics.jsonl" if (out / "metrics.jsonl").is_file() else out / "member0" / "metrics.jsonl"
        history = [json.loads(line) for line in log.read_text().splitlines()]
        histories[cell] = [(h["epoch"], h["train_loss"]) for h in history if "train_loss" in h]
        rows.append((cell, metrics["parameters"], metrics["test_accuracy"], metrics["test_macro_f1"]))
        if cell == "gru":  # the default cell: its confusion matrix
            shrink(out / "confusion_matrix.png", IMG / "classify_confusion_matrix.png")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100, gridspec_kw={"width_ratios": [2, 1]})
    for cell, points in histories.items():
        left.plot(*zip(*points), label=cell.upper())
    left.set(xlabel="epoch", ylabel="training loss", yscale="log", title="Training loss")
    left.grid(alpha=0.3)
    left.legend()
    bars = right.bar([r[0].upper() for r in rows], [r[2] for r in rows], color=["#8c8c8c", "#4c72b0", "#dd8452"])
    right.bar_label(bars, labels=[f"{r[2]:.3f}" for r in rows])
    right.set(ylim=(min(r[2] for r in rows) - 0.05, 1.0), ylabel="test accuracy", title="JapaneseVowels test set")
    fig.tight_layout()
    fig.savefig(tmp / "cells.png")
    plt.close(fig)
    shrink(tmp / "cells.png", IMG / "classify_cells.png")
    lines = [f"{'cell':6s} {'parameters':>10s} {'test accuracy':>14s} {'macro-F1':>9s}"]
    lines += [f"{c.upper():6s} {p:10,d} {a:14.4f} {f:9.4f}" for c, p, a, f in rows]
    return (
        "rnnkit classify train --dataset JapaneseVowels --cell {rnn,gru,lstm} --epochs 30 --ensemble 1 "
        "--time_budget null\n(every other flag at its default: bidirectional, 64 units, diff channels, pooling all)\n\n"
        + "\n".join(lines)
    )


def forecast(tmp: Path) -> str:
    """SegRNN with a Gaussian head on Seattle's daily temperatures, a fixed number of epochs; one test window."""
    from vega_datasets import local_data

    from rnnkit.forecast.data import load_series
    from rnnkit.forecast.models import SegRNN
    from rnnkit.forecast.pipeline import calibrate, evaluate, model_meta, prepare, train
    from rnnkit.forecast.plots import plot_forecast
    from rnnkit.train import TrainConfig, seed_everything

    seed_everything(0)
    df = local_data.seattle_weather()[["date", "temp_max", "temp_min"]]
    series = load_series(df, "temp_max,temp_min", time_col="date")
    L, H = 56, 14
    prep = prepare(series, L, H)
    meta = model_meta(prep, season=7)
    model = SegRNN(lookback=L, horizon=H, num_targets=2, seg_len=7, d_model=64, head="gaussian", meta=meta)
    config = TrainConfig(epochs=40, batch_size=64, lr=3e-3, weight_decay=0.0, early_stopping=8, quiet=True)
    result = train(model, prep, config, run_dir=tmp / "run")
    calibrate(model, prep, 0.8)  # interval width rescaled on the validation days, never the test days
    results, arrays = evaluate(model, prep, "test", level=0.8, season=7)
    k = len(arrays["index"]) - 1
    sidx, start = arrays["index"][k]
    s = series.series[sidx]
    image = plot_forecast(
        tmp / "forecast.png",
        history_t=s.time[start : start + L], history=s.target[start : start + L],
        future_t=s.time[start + L : start + L + H], forecast=arrays["forecast"][k], truth=arrays["y"][k],
        lo=arrays["lo"][k], hi=arrays["hi"][k], names=series.targets,
        title="Seattle: last test window, SegRNN (Gaussian head) with its 80% interval",
    )  # fmt: skip
    shrink(image, IMG / "forecast_forecast.png")
    lines = [f"{'':16s} {'MAE':>6s} {'RMSE':>6s} {'MASE':>6s} {'80% coverage':>13s}"]
    for name, m in results.items():
        coverage = f"{m['coverage_80']:13.2f}" if "coverage_80" in m else f"{'-':>13s}"
        lines.append(f"{name:16s} {m['mae']:6.2f} {m['rmse']:6.2f} {m['mase']:6.3f} {coverage}")
    return (
        f"SegRNN (seg_len 7, d_model 64, Gaussian head), look-back {L} days, horizon {H}; at most 40 epochs with "
        f"early stopping on validation: {result.steps} steps\n"
        f"test range: the last 20% of the days, every window scored, degrees C; MASE against the weekly naive\n\n"
        + "\n".join(lines)
    )


RUNS: dict[str, Callable[[Path], str]] = {"classify": classify, "forecast": forecast, "text": text}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", choices=list(RUNS), nargs="*", help="pages to rerun (default: all)")
    args = parser.parse_args()
    IMG.mkdir(exist_ok=True)
    torch.set_num_threads(1)  # small models: one thread is as fast, and steady when other jobs share the cores
    torch.manual_seed(0)
    np.random.seed(0)
    for name in args.only or list(RUNS):
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            summary = RUNS[name](Path(tmp))
        seconds = time.perf_counter() - start
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        header = f"python docs/gen_figures.py --only {name}   ({stamp}, {seconds:.0f} s on {machine()})\n"
        (IMG / f"{name}_summary.txt").write_text(header + summary.rstrip() + "\n", encoding="utf-8")
        print(f"{name}: {seconds:.0f} s")


if __name__ == "__main__":
    main()
