"""Data for minigan: MNIST download and loading, IDX file reading and writing.

>>> from minigan.data import load_mnist
>>> images, labels = load_mnist("test")   # doctest: +SKIP

Every error raised here is a :class:`DataError`, so one ``except`` clause
reports any data problem.
"""

from .idx import DataError, IDXError, read_idx, write_idx
from .mnist import (
    MIRRORS,
    MNIST_FILES,
    ImageSizeError,
    MNISTDownloadError,
    MNISTError,
    default_data_dir,
    fetch,
    holds_mnist,
    load_mnist,
    own_files,
    read_data_file,
    splits_in,
)

__all__ = [
    "DataError",
    "IDXError",
    "MNISTError",
    "MNISTDownloadError",
    "ImageSizeError",
    "read_idx",
    "write_idx",
    "load_mnist",
    "splits_in",
    "holds_mnist",
    "own_files",
    "read_data_file",
    "fetch",
    "default_data_dir",
    "MNIST_FILES",
    "MIRRORS",
]
