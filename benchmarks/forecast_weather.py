"""Melbourne daily minimum temperature, horizon 7 days: MAE (°C) of rnnkit models vs naive baselines.

Data: ../shared/data/timeseries/temps.csv (3,650 days 1981-1990; the file lacks 1984-12-31 and 1988-12-31,
which ``gaps="fill"`` inserts and interpolates). Splits by rows: first 70% train, next 10% validation, last 20% test;
every test window (stride 1) is scored, in °C. Baselines: naive (last value), seasonal naive with a week and
with a year (the same days one year earlier), and rnnkit's linear model.

darts' BlockRNNModel (LSTM, 64 units, one layer, the same look-back/horizon, its own min-max scaler fitted on the
training rows, early stopping on the validation rows, its best validation epoch restored from its checkpoints as
rnnkit restores its own) is scored on exactly the same test forecasts with
``historical_forecasts(retrain=False)``; needs the ``bench`` extra (``pip install -e '.[bench]' -c constraints.txt``).

    python benchmarks/forecast_weather.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import rnnkit
from _common import append_results, machine, markdown_table
from rnnkit.forecast.data import load_series
from rnnkit.forecast.metrics import mae
from rnnkit.forecast.models import make_model
from rnnkit.forecast.pipeline import evaluate, model_meta, prepare, train
from rnnkit.train import TrainConfig, seed_everything

H = 7


def yearly_naive_mae(prep, index: np.ndarray) -> float:
    """MAE of y[t] = y[t - 365] over the same test windows (°C)."""
    s = prep.series.series[0]
    y = s.target[:, 0]
    rows = index[:, 1][:, None] + prep.lookback + np.arange(H)  # (N, H) target rows
    if rows.min() < 365:
        raise ValueError("yearly seasonal naive needs a year of history before every test target")
    return mae(y[rows], y[rows - 365])


def run_darts(prep, args: argparse.Namespace) -> tuple[float, float, float, int, str]:
    """darts BlockRNNModel (LSTM) on the same splits: (test MAE, test RMSE, training seconds, epochs, version)."""
    import logging
    import tempfile

    import darts
    from darts import TimeSeries
    from darts.dataprocessing.transformers import Scaler
    from darts.models import BlockRNNModel
    from pytorch_lightning.callbacks import Callback, EarlyStopping

    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

    class EpochCounter(Callback):  # darts' epochs_trained reads 0 once fit() returns
        epochs = 0

        def on_train_epoch_end(self, trainer, pl_module) -> None:  # type: ignore[no-untyped-def]
            self.epochs += 1

    counter = EpochCounter()
    s = prep.series.series[0]
    b = prep.borders[0]
    full = TimeSeries.from_times_and_values(s.time, s.target.astype(np.float32))
    train_s, val_s = full[: b["train"][1]], full[b["val"][0] : b["val"][1]]
    scaler = Scaler().fit(train_s)
    work_dir = tempfile.mkdtemp(prefix="darts_weather_")
    model = BlockRNNModel(
        input_chunk_length=args.lookback,
        output_chunk_length=H,
        model="LSTM",
        hidden_dim=64,
        n_rnn_layers=1,
        batch_size=64,
        n_epochs=args.epochs,
        optimizer_kwargs={"lr": 2e-3},
        random_state=args.seed,
        # keep the best epoch by validation loss, as rnnkit does (darts' documented way: checkpoints + best=True)
        model_name="weather",
        work_dir=work_dir,
        save_checkpoints=True,
        force_reset=True,
        pl_trainer_kwargs={
            "accelerator": "cpu",
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "callbacks": [EarlyStopping("val_loss", patience=6), counter],
            "max_time": {"minutes": args.budget},
        },
    )
    t0 = time.perf_counter()
    model.fit(scaler.transform(train_s), val_series=scaler.transform(val_s), verbose=False)
    seconds = time.perf_counter() - t0
    model.load_weights_from_checkpoint(model_name="weather", work_dir=work_dir, best=True)
    first_target = b["test"][0] + prep.lookback
    forecasts = model.historical_forecasts(
        scaler.transform(full),
        start=s.time[first_target],
        forecast_horizon=H,
        stride=1,
        retrain=False,
        last_points_only=False,
        overlap_end=False,
        verbose=False,
    )
    y = s.target[:, 0]
    err = []
    for f in forecasts:
        values = scaler.inverse_transform(f).values()[:, 0]
        start = s.time.get_loc(f.start_time())
        err.append(values - y[start : start + H])
    e = np.concatenate(err)
    epochs = counter.epochs
    return float(np.abs(e).mean()), float(np.sqrt((e**2).mean())), seconds, epochs, darts.__version__


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lookback", type=int, default=56)
    p.add_argument("--budget", type=float, default=3.0, help="training minutes per model")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no_append", action="store_true")
    p.add_argument("--no_darts", action="store_true", help="skip darts' BlockRNNModel")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    path = rnnkit.data_dir("timeseries", "temps.csv")
    rows, raw = [], {}
    specs = {
        "rnnkit SegRNN (GRU)": dict(model="segrnn", seg_len=7, d_model=128, dropout=0.3, calendar=None),
        "rnnkit RNN (GRU) + day-of-year": dict(model="rnn", hidden_size=64, dropout=0.0, calendar="dayofyear"),
    }
    base = None
    for name, spec in specs.items():
        seed_everything(args.seed)
        series = load_series(path, "Daily minimum temperatures", gaps="fill", calendar=spec.pop("calendar"))
        prep = prepare(series, args.lookback, H)
        kind = spec.pop("model")
        model = make_model(
            kind,
            lookback=args.lookback,
            horizon=H,
            num_targets=1,
            num_future=len(series.future),
            head="median",
            meta=model_meta(prep, season=7),
            **spec,
        )
        config = TrainConfig(
            epochs=args.epochs,
            batch_size=64,
            lr=2e-3,
            weight_decay=0.0,
            early_stopping=6,
            monitor="val_loss",
            time_budget=args.budget,
            seed=args.seed,
            quiet=True,
        )
        t0 = time.perf_counter()
        fit = train(model, prep, config)
        seconds = time.perf_counter() - t0
        results, arrays = evaluate(model, prep, "test", season=7)
        epochs = fit.steps / len(prep.loader("train", 64))
        raw[name] = {"results": results, "seconds": seconds, "steps": fit.steps, "epochs": epochs}
        print(json.dumps({name: raw[name]}), flush=True)
        rows.append(
            [
                name,
                f"{results['model']['mae']:.3f}",
                f"{results['model']['rmse']:.3f}",
                f"{seconds:.1f}",
                f"{epochs:.0f}",
                f"{seconds / epochs:.2f}",
                fit.stopped_reason,
            ]
        )
        if base is None:
            base = results
            yearly = yearly_naive_mae(prep, arrays["index"])
    assert base is not None
    version = "skipped"
    if not args.no_darts:
        d_mae, d_rmse, d_seconds, d_epochs, version = run_darts(prep, args)
        rows.append(
            [
                "darts BlockRNNModel (LSTM 64)",
                f"{d_mae:.3f}",
                f"{d_rmse:.3f}",
                f"{d_seconds:.1f}",
                d_epochs,
                f"{d_seconds / max(d_epochs, 1):.2f}",
                "",
            ]
        )
    rows.append(["seasonal naive (365 days)", f"{yearly:.3f}", "", "", "", "", ""])
    for label, key in (
        ("seasonal naive (7 days)", "seasonal_naive"),
        ("naive (last value)", "naive"),
        ("rnnkit linear (ridge)", "linear"),
    ):
        rows.append([label, f"{base[key]['mae']:.3f}", f"{base[key]['rmse']:.3f}", "", "", "", ""])
    headers = ["model", "test MAE °C", "test RMSE °C", "train s", "epochs", "s/epoch", "stopped by"]
    table = markdown_table(headers, rows)
    notes = (
        f"Look-back {args.lookback} days, horizon {H}, median head (L1 loss), early stopping on validation, budget "
        f"{args.budget} min per model, {args.threads} torch threads. darts BlockRNNModel "
        f"(darts {version}, its default MSE loss) gets the same epoch cap ({args.epochs}), budget and early-stopping "
        "patience (6 epochs on validation loss), the same torch threads, and like rnnkit forecasts with the weights "
        "of its best validation epoch (save_checkpoints=True, then load_weights_from_checkpoint(best=True)); its "
        "train s is the wall time of fit() alone, as is rnnkit's. What differs: darts' loss (MSE) and model (LSTM "
        "64, its BlockRNNModel defaults otherwise). Test windows: every origin of the last 20% (stride 1), MAE over "
        "all 7 steps. The forecasting defaults were checked on this series' validation rows "
        "(benchmarks/forecast_defaults.py), never on its test rows."
    )
    print(table)
    print(notes)
    if not args.no_append:
        cmd = "python benchmarks/forecast_weather.py " + " ".join(sys.argv[1:])
        append_results("Forecasting: Melbourne daily minimum temperature, horizon 7", table, cmd.strip(), notes)
    print(machine())


if __name__ == "__main__":
    main()
