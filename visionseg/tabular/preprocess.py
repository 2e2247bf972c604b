"""Preprocessing as a scikit-learn ColumnTransformer, fitted on the observation window only.

Numeric columns: median imputation -> winsorizing (clip to the fitted 1%/99% quantiles by
default) -> skew correction of the columns whose |skewness| exceeds a threshold (signed
log1p, or Yeo-Johnson) -> standard or robust scaling. Categorical columns: missing becomes
``"missing"``, then one-hot of the ``top_n`` most frequent categories plus one "other"
column (scikit-learn's infrequent category, which also takes categories unseen in fitting).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, PowerTransformer, RobustScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted

from visionseg.tabular.errors import TabularInputError

SCALERS = {"standard": StandardScaler, "robust": RobustScaler}
SKEW_METHODS = ("log1p", "yeo-johnson", "none")


class MedianImputer(TransformerMixin, BaseEstimator):
    """Fill missing values with the fitted column medians.

    Does what ``SimpleImputer(strategy="median")`` does, about 5x faster on a million rows
    (that one builds masked arrays and sorts them).
    """

    def fit(self, X, y=None) -> MedianImputer:
        X = np.asarray(X, dtype="float64")
        missing = np.isnan(X)
        self.statistics_ = np.nanmedian(X, axis=0) if missing.any() else np.median(X, axis=0)
        self.statistics_ = np.nan_to_num(self.statistics_, nan=0.0)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "statistics_")
        X = np.array(X, dtype="float64")
        missing = np.isnan(X)
        if missing.any():
            X[missing] = np.broadcast_to(self.statistics_, X.shape)[missing]
        return X

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features, dtype=object)


class Winsorizer(TransformerMixin, BaseEstimator):
    """Clip each column to its fitted ``[lower, upper]`` quantiles (None disables)."""

    def __init__(self, lower: float | None = 0.01, upper: float | None = 0.99) -> None:
        self.lower = lower
        self.upper = upper

    def fit(self, X, y=None) -> Winsorizer:
        X = np.asarray(X, dtype="float64")
        quantile = np.nanquantile if np.isnan(X).any() else np.quantile
        levels = [0.0 if self.lower is None else self.lower,
                  1.0 if self.upper is None else self.upper]
        lo, hi = quantile(X, levels, axis=0)
        self.bounds_ = (np.full(X.shape[1], -np.inf) if self.lower is None else lo,
                        np.full(X.shape[1], np.inf) if self.upper is None else hi)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "bounds_")
        return np.clip(np.asarray(X, dtype="float64"), *self.bounds_)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features, dtype=object)


class SkewCorrector(TransformerMixin, BaseEstimator):
    """Transform the columns whose fitted |skewness| exceeds ``threshold``.

    ``log1p`` applies ``sign(x) * log1p(|x|)`` (log1p for non-negative data, and defined for
    net-negative revenue); ``yeo-johnson`` fits a power transform; ``none`` passes through.
    """

    def __init__(self, method: str = "log1p", threshold: float = 1.0) -> None:
        self.method = method
        self.threshold = threshold

    def fit(self, X, y=None) -> SkewCorrector:
        if self.method not in SKEW_METHODS:
            raise TabularInputError(
                f"preprocess.skew_transform must be one of {SKEW_METHODS}, not {self.method!r}")
        X = np.asarray(X, dtype="float64")
        self.n_features_in_ = X.shape[1]
        self.skewness_ = _skewness(X)
        if self.method == "none":
            self.columns_ = np.zeros(X.shape[1], dtype=bool)
        else:
            self.columns_ = np.abs(self.skewness_) > self.threshold
        self.power_ = None
        if self.method == "yeo-johnson" and self.columns_.any():
            self.power_ = PowerTransformer(method="yeo-johnson", standardize=False)
            self.power_.fit(X[:, self.columns_])
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "columns_")
        X = np.array(X, dtype="float64")
        if not self.columns_.any():
            return X
        if self.power_ is not None:
            X[:, self.columns_] = self.power_.transform(X[:, self.columns_])
        else:
            part = X[:, self.columns_]
            X[:, self.columns_] = (np.log1p(part) if part.min(initial=0.0) >= 0
                                   else np.sign(part) * np.log1p(np.abs(part)))
        return X

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features, dtype=object)


class CategoryCleaner(TransformerMixin, BaseEstimator):
    """Categorical values as Python strings, missing ones as ``"missing"``."""

    def fit(self, X, y=None) -> CategoryCleaner:
        self.n_features_in_ = np.shape(X)[1]
        return self

    def transform(self, X) -> np.ndarray:
        frame = pd.DataFrame(X)
        return frame.astype("string").fillna("missing").astype(object).to_numpy()

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features, dtype=object)


def _skewness(X: np.ndarray) -> np.ndarray:
    """Population skewness per column (NaN-aware only when NaNs are present: faster)."""
    mean_of = np.nanmean if np.isnan(X).any() else np.mean
    centred = X - mean_of(X, axis=0)
    squared = centred * centred
    m2 = mean_of(squared, axis=0)
    m3 = mean_of(squared * centred, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = m3 / m2**1.5
    return np.nan_to_num(skew, nan=0.0, posinf=0.0, neginf=0.0)


class Preprocessor:
    """The fitted ColumnTransformer plus the views the algorithms need.

    ``transform`` gives the all-numeric matrix (scaled numerics + one-hot) used by most
    algorithms; ``transform_mixed`` gives scaled numerics beside the raw categorical strings,
    for K-Prototypes and Gower distance.
    """

    def __init__(
        self,
        numeric: Sequence[str],
        categorical: Sequence[str] = (),
        skew_transform: str = "log1p",
        skew_threshold: float = 1.0,
        winsorize: Sequence[float] | None = (0.01, 0.99),
        scaler: str = "standard",
        top_n: int = 10,
    ) -> None:
        if scaler not in SCALERS:
            raise TabularInputError(
                f"preprocess.scaler must be one of {sorted(SCALERS)}, not {scaler!r}")
        if not numeric and not categorical:
            raise TabularInputError("no feature columns to segment on")
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        lower, upper = (None, None) if not winsorize else (winsorize[0], winsorize[1])
        numeric_steps = Pipeline([
            ("impute", MedianImputer()),
            ("winsorize", Winsorizer(lower, upper)),
            ("skew", SkewCorrector(skew_transform, skew_threshold)),
            ("scale", SCALERS[scaler]()),
        ])
        categorical_steps = Pipeline([
            ("clean", CategoryCleaner()),
            ("onehot", OneHotEncoder(max_categories=int(top_n) + 1, sparse_output=False,
                                     handle_unknown="infrequent_if_exist")),
        ])
        transformers = []
        if self.numeric:
            transformers.append(("num", numeric_steps, self.numeric))
        if self.categorical:
            transformers.append(("cat", categorical_steps, self.categorical))
        self.transformer = ColumnTransformer(
            transformers, sparse_threshold=0.0, verbose_feature_names_out=False)

    @classmethod
    def from_config(cls, numeric: Sequence[str], categorical: Sequence[str],
                    pcfg: Mapping[str, Any]) -> Preprocessor:
        """Built from the ``preprocess`` node of the fit config."""
        return cls(numeric, categorical, skew_transform=pcfg["skew_transform"],
                   skew_threshold=float(pcfg["skew_threshold"]), winsorize=pcfg["winsorize"],
                   scaler=pcfg["scaler"], top_n=int(pcfg["top_n"]))

    def fit(self, frame: pd.DataFrame) -> Preprocessor:
        self.transformer.fit(frame[self.numeric + self.categorical])
        return self

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        return np.ascontiguousarray(
            self.transformer.fit_transform(frame[self.numeric + self.categorical]),
            dtype="float64")

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        return np.ascontiguousarray(
            self.transformer.transform(frame[self.numeric + self.categorical]), dtype="float64")

    def transform_mixed(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Scaled numeric columns, then the cleaned categorical columns as strings."""
        out = pd.DataFrame(index=frame.index)
        if self.numeric:
            values = self.transformer.named_transformers_["num"].transform(frame[self.numeric])
            for i, col in enumerate(self.numeric):
                out[col] = values[:, i]
        if self.categorical:
            values = CategoryCleaner().fit(frame[self.categorical]).transform(
                frame[self.categorical])
            for i, col in enumerate(self.categorical):
                out[col] = pd.Series(values[:, i], index=frame.index, dtype=object)
        return out

    @property
    def feature_names(self) -> list[str]:
        return [str(n) for n in self.transformer.get_feature_names_out()]

    @property
    def skewed_columns(self) -> list[str]:
        """The numeric columns the skew correction transforms."""
        if not self.numeric:
            return []
        skew = self.transformer.named_transformers_["num"].named_steps["skew"]
        return [c for c, used in zip(self.numeric, skew.columns_, strict=True) if used]
