"""Datasets: generators by name, CSV import, splitting and preprocessing. Pure numpy, no torch."""
from .arrays import DataArray
from .csv_import import Table, csv_dataset_params, read_csv
from .dataset import (Dataset, dataset_canonical, dataset_for_json, make_dataset, resolve_data_file, split_canonical,
                      split_indices)
from .generators import CLASSIFICATION, DATASETS, REGRESSION, Generated
from . import sequences  # noqa: F401  registers sine_next and parity in DATASETS
from .multilabel import MULTILABEL
from .preprocess import FEATURES, SCALES, apply_preprocess, expand_features, fit_preprocess, preprocess_canonical

__all__ = [
    "DATASETS", "Dataset", "DataArray", "Generated", "Table", "CLASSIFICATION", "REGRESSION", "MULTILABEL", "FEATURES", "SCALES",
    "make_dataset", "dataset_canonical", "split_canonical", "split_indices", "dataset_for_json", "resolve_data_file",
    "read_csv", "csv_dataset_params",
    "fit_preprocess", "apply_preprocess", "expand_features", "preprocess_canonical",
]
