"""rnnkit.video on generated videos: motion-direction classification and next-frame prediction (issue 17).

1. ``classify``: moving digits (scikit-learn's digit images) labelled by direction, left or right, written as
   mp4 files and decoded through PyAV. A left clip is a right clip played backwards, so the set of frames carries
   no label information. Held-out accuracy of the CNN + LSTM (and GRU, ConvLSTM) beside the single-frame baseline
   (the same CNN, frame features averaged) in one run, fixed epochs, and the CPU throughput of the CNN + LSTM:
   training clips/s and the share of wall time spent decoding (decoded once into a uint8 cache per run).
2. ``forecast``: the ConvLSTM frame predictor on bouncing digits: per-frame MSE and SSIM 1 and 10 frames ahead
   on held-out clips, beside repeating the last input frame and a blank frame; a PNG strip of the frames.

    nice .venv/bin/python benchmarks/video.py --part all

Accuracies and errors come from a fixed amount of work (epochs) and seeds, so machine load does not change them;
the seconds and clips/s do.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from _common import append_results, markdown_table
from rnnkit.train import TrainConfig
from rnnkit.video import FramePredictor, VideoClassifier
from rnnkit.video.data import decode, load_folder
from rnnkit.video.generate import bouncing_digits, moving_digits, write_dataset
from rnnkit.video.metrics import save_strip

SIZE = 32


def classify(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="rnnkit-video-"))
    videos, labels = moving_digits(args.train + args.test, args.frames, SIZE, seed=args.seed)
    write_dataset(root / "train", videos[: args.train], labels[: args.train])
    write_dataset(root / "test", videos[args.train :], labels[args.train :])
    start = time.perf_counter()
    test = decode(load_folder(root / "test"), SIZE, 1)
    test_decode = time.perf_counter() - start
    config = TrainConfig(
        epochs=args.epochs, batch_size=32, early_stopping=None, quiet=True, seed=args.seed, threads=args.threads
    )
    rows, throughput = [], None
    for temporal in args.models.split(","):
        model = VideoClassifier(temporal, size=SIZE, channels=1, frames=args.frames, hidden_size=64, features=64)
        model.fit(root / "train", config)
        assert model.fit_result is not None
        accuracy = model.score(test)
        seconds, decoding = model.fit_result.seconds, model.train_report["decode_seconds"]
        name = {"mean": "single-frame baseline (CNN, features averaged)", "convlstm": "ConvLSTM"}.get(
            temporal, f"CNN + {temporal.upper()}"
        )
        rows.append([name, sum(p.numel() for p in model.parameters()), f"{accuracy:.3f}", f"{seconds:.0f}"])
        if temporal == "lstm":
            clips_per_s = args.train * args.epochs / seconds
            throughput = (clips_per_s, decoding, seconds)
        print(rows[-1], flush=True)
    table = markdown_table(["model", "parameters", "held-out accuracy", "train s (under load)"], rows)
    notes = (
        f"{args.train} training / {args.test} held-out mp4 clips ({args.frames} frames, {SIZE}x{SIZE} grey, a "
        f"12-pixel digit moving left or right at 1-2 px/frame); chance 0.5. {args.epochs} epochs, batch 32, "
        f"AdamW 3e-3 cosine, seed {args.seed}, {args.threads} torch thread(s)."
    )
    if throughput is not None:
        clips_per_s, decoding, seconds = throughput
        uncached = decoding * args.epochs
        notes += (
            f"\n\nCPU throughput of the CNN + LSTM (measured under load): {clips_per_s:.0f} training clips/s. "
            f"Decoding the {args.train} training files once took {decoding:.1f} s, "
            f"{100 * decoding / (decoding + seconds):.1f}% "
            f"of decode + training time; re-decoding every epoch instead would have cost {uncached:.0f} s, "
            f"{100 * uncached / (uncached + seconds):.0f}% (computed from the same measurement). Held-out files: "
            f"{test_decode:.1f} s for {args.test}."
        )
    print(table + "\n\n" + notes)
    if args.write:
        command = f"nice python benchmarks/video.py --part classify --epochs {args.epochs} --models {args.models}"
        append_results("Video: motion direction, CNN + RNN vs single-frame baseline", table, command, notes)


def forecast(args: argparse.Namespace) -> None:
    length = args.context + args.horizon
    train, _ = bouncing_digits(args.train, length, SIZE, seed=args.seed)
    held, _ = bouncing_digits(args.test, length, SIZE, seed=args.seed + 1000)
    model = FramePredictor(size=SIZE, channels=1, context=args.context, horizon=args.horizon, hidden_size=32)
    config = TrainConfig(
        epochs=args.epochs, batch_size=16, early_stopping=None, quiet=True, seed=args.seed, threads=args.threads
    )
    model.fit(train, config)
    assert model.fit_result is not None
    scores = model.evaluate(held)
    rows = []
    names = {"model": "ConvLSTM predictor", "copy_last": "copy last input frame", "blank": "blank frame"}
    for key, name in names.items():
        s = scores[key]
        rows.append([name, *(f"{s['mse'][i]:.4f}" for i in (0, args.horizon - 1)),
                     *(f"{s['ssim'][i]:.3f}" for i in (0, args.horizon - 1))])  # fmt: skip
    gain = 1 - scores["model"]["mse"][-1] / scores["copy_last"]["mse"][-1]
    header = ["predictor", "MSE 1 ahead", f"MSE {args.horizon} ahead", "SSIM 1 ahead", f"SSIM {args.horizon} ahead"]
    table = markdown_table(header, rows)
    clip = torch.from_numpy(held[:3, : args.context, None])
    pred = (model.predict(clip, args.horizon)[:, :, 0].numpy() * 255 + 0.5).astype(np.uint8)
    strip_rows = []
    for i in range(3):
        strip_rows += [(f"input {i + 1}", held[i, : args.context, ..., None]), ("predicted", pred[i, ..., None]),
                       ("true", held[i, args.context :, ..., None])]  # fmt: skip
    strip = save_strip(strip_rows, Path(args.strip))
    notes = (
        f"{args.train} training / {args.test} held-out clips of a 12-pixel digit bouncing in a {SIZE}x{SIZE} canvas "
        f"(1-2.5 px/frame); {args.context} frames in, {args.horizon} predicted, each from the previous prediction. "
        f"{args.epochs} epochs ({model.fit_result.steps} steps, {model.fit_result.seconds / 60:.0f} min under load), "
        f"batch 16, seed {args.seed}. MSE on [0, 1] pixels, SSIM with a 7x7 Gaussian window. "
        f"At {args.horizon} frames the model's MSE is {100 * gain:.0f}% below copy-last. The canvas is mostly "
        f"black, so a blank frame is a strong MSE baseline far ahead; SSIM shows what it misses. Strip: {strip.name}."
    )
    print(table + "\n\n" + notes)
    if args.write:
        command = f"nice python benchmarks/video.py --part forecast --epochs {args.epochs} --train {args.train}"
        append_results("Video: next-frame prediction with a ConvLSTM (bouncing digits)", table, command, notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", default="all", choices=["classify", "forecast", "all"])
    parser.add_argument("--train", type=int, default=None, help="training clips (600 classify, 800 forecast)")
    parser.add_argument("--test", type=int, default=200, help="held-out clips")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (8 classify, 10 forecast)")
    parser.add_argument("--frames", type=int, default=10, help="classify: frames per clip")
    parser.add_argument("--models", default="lstm,gru,convlstm,mean", help="classify: temporal models")
    parser.add_argument("--context", type=int, default=10)
    parser.add_argument("--horizon", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strip", default=str(Path(__file__).with_name("video_forecast_strip.png")))
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=True, help="append to RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.part in ("classify", "all"):
        classify(argparse.Namespace(**{**vars(args), "train": args.train or 600, "epochs": args.epochs or 8}))
    if args.part in ("forecast", "all"):
        forecast(argparse.Namespace(**{**vars(args), "train": args.train or 800, "epochs": args.epochs or 10}))


if __name__ == "__main__":
    main()
