"""rnnkit.forecast: time-series forecasting with recurrent models.

The estimator: :class:`Forecaster` (``Forecaster(horizon=24).fit(df).predict()``), :func:`load`, and its
settings :class:`ForecastConfig` (also the flags of ``rnnkit forecast train``). Underneath:

- :mod:`~rnnkit.forecast.data` / :mod:`~rnnkit.forecast.timeaxis`: read CSV/Parquet/DataFrame, dates or integer
  steps, missing values, covariates and calendar features, several series by an id column;
- :mod:`~rnnkit.forecast.windows`: split borders and stride-1 windows; :mod:`~rnnkit.forecast.scale`: scalers;
- :mod:`~rnnkit.forecast.models` / :mod:`~rnnkit.forecast.heads`: SegRNN, direct and autoregressive RNNs, seed
  ensembles, with point, Gaussian, Student-t and quantile heads;
- :mod:`~rnnkit.forecast.auto` (defaults from the data), :mod:`~rnnkit.forecast.training`,
  :mod:`~rnnkit.forecast.fallback` (baselines that beat the network on validation), :mod:`~rnnkit.forecast.pipeline`;
- :mod:`~rnnkit.forecast.cli`: ``rnnkit forecast train|predict|eval|backtest``.
"""

from rnnkit.forecast.data import SeriesSet, load_series
from rnnkit.forecast.fallback import BaselineModel
from rnnkit.forecast.forecaster import ForecastConfig, Forecaster, load
from rnnkit.forecast.models import AutoregressiveRNN, DirectRNN, ForecastEnsemble, ForecastModel, SegRNN, make_model
from rnnkit.forecast.scale import RevIN, StandardScaler

__all__ = [
    "AutoregressiveRNN",
    "BaselineModel",
    "DirectRNN",
    "ForecastConfig",
    "ForecastEnsemble",
    "ForecastModel",
    "Forecaster",
    "RevIN",
    "SegRNN",
    "SeriesSet",
    "StandardScaler",
    "load",
    "load_series",
    "make_model",
]
