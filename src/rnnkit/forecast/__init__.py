"""rnnkit.forecast: time-series forecasting with recurrent models.

- :mod:`~rnnkit.forecast.data`: read CSV/Parquet/DataFrame, validate timestamps, report and fill missing values,
  covariates and calendar features, several series by an id column;
- :mod:`~rnnkit.forecast.windows`: literature split borders (LTSF) and stride-1 windows;
- :mod:`~rnnkit.forecast.scale`: standard scaler (fitted on training rows, stored with the model) and RevIN;
- :mod:`~rnnkit.forecast.models` / :mod:`~rnnkit.forecast.heads`: SegRNN, direct and autoregressive RNNs, seed
  ensembles, with point, Gaussian, Student-t and quantile heads;
- :mod:`~rnnkit.forecast.baselines`, :mod:`~rnnkit.forecast.metrics`, :mod:`~rnnkit.forecast.pipeline`;
- :mod:`~rnnkit.forecast.cli`: ``rnnkit forecast train|predict|eval|backtest``.
"""

from rnnkit.forecast.data import SeriesSet, load_series
from rnnkit.forecast.models import AutoregressiveRNN, DirectRNN, ForecastEnsemble, Forecaster, SegRNN, make_model
from rnnkit.forecast.scale import RevIN, StandardScaler

__all__ = [
    "AutoregressiveRNN",
    "DirectRNN",
    "ForecastEnsemble",
    "Forecaster",
    "RevIN",
    "SegRNN",
    "SeriesSet",
    "StandardScaler",
    "load_series",
    "make_model",
]
