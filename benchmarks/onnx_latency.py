"""Batch-1 latency on CPU: onnxruntime against PyTorch eager, for a language-model step and two forecasters.

Models (random weights; speed does not depend on them):
- LM step: rnnkit's LanguageModel, 2x512 LSTM, embedding 128, vocabulary 65 (tiny-shakespeare's characters),
  one token with the carried state, as ``rnnkit text generate`` runs it;
- DirectRNN: GRU 64 over a 96-step look-back of 7 channels (ETTh1's), horizon 24;
- SegRNN: d_model 256, segments of 24, look-back 96, horizon 96, 7 channels (the ETTh1 setting of RESULTS.md).

Each is exported with ``rnnkit.interop.export_onnx`` (which checks onnxruntime against PyTorch to 1e-5 first),
then both run the same inputs ``--repeats`` times after a warm-up; the table gives the median and the ratio.
Both use ``--threads`` intra-op threads.

    python benchmarks/onnx_latency.py [--repeats 300] [--threads 1] [--note "measured under load"]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import onnxruntime as ort
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_results, markdown_table
from rnnkit.forecast.models import DirectRNN, SegRNN
from rnnkit.interop import export_onnx
from rnnkit.text.lm.model import LanguageModel


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    for _ in range(max(10, repeats // 10)):  # warm-up
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=300, help="timed calls per model and runtime")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads for torch and onnxruntime")
    parser.add_argument("--note", default="", help="added under the table (e.g. 'measured under load')")
    parser.add_argument("--no_results", action="store_true", help="do not append to RESULTS.md (smoke runs)")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    lm = LanguageModel(65, 128, 512, 2, "lstm").eval()
    direct = DirectRNN(lookback=96, horizon=24, num_targets=7, hidden_size=64).eval()
    seg = SegRNN(lookback=96, horizon=96, num_targets=7, seg_len=24, d_model=256).eval()
    ids, state = torch.tensor([5]), (torch.zeros(2, 1, 512), torch.zeros(2, 1, 512))
    x = torch.randn(1, 96, 7)
    cases = [
        ("LM step (2x512 LSTM, V=65)", lm, {"ids": ids, "h0": state[0], "c0": state[1]}, lambda: lm.step(ids, state)),
        ("DirectRNN (GRU 64, L=96, H=24, C=7)", direct, {"x": x}, lambda: direct({"x": x})),
        ("SegRNN (d=256, L=96, H=96, C=7)", seg, {"x": x}, lambda: seg({"x": x})),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, model, feed, eager in cases:
            path = export_onnx(model, Path(tmp) / "model.onnx")
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            np_feed = {k: v.numpy() for k, v in feed.items()}
            with torch.inference_mode():
                torch_ms = median_ms(eager, args.repeats)
            ort_ms = median_ms(lambda s=session, f=np_feed: s.run(None, f), args.repeats)
            rows.append([name, f"{torch_ms:.3f}", f"{ort_ms:.3f}", f"{torch_ms / ort_ms:.2f}x"])
            print(f"{name}: torch {torch_ms:.3f} ms, onnxruntime {ort_ms:.3f} ms", flush=True)
    table = markdown_table(["model (batch 1, CPU)", "PyTorch eager ms", "onnxruntime ms", "speed-up"], rows)
    print(table)
    if not args.no_results:
        command = f"python benchmarks/onnx_latency.py --repeats {args.repeats} --threads {args.threads}"
        notes = f"onnxruntime {ort.__version__}; median of {args.repeats} calls each. {args.note}".strip()
        append_results("ONNX export: batch-1 latency, onnxruntime vs PyTorch eager", table, command, notes)


if __name__ == "__main__":
    main()
