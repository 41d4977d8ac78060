"""Data sets for the neural-net tasks, read from local files only (never downloaded).

* ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 images, offline),
  split 80/20 stratified with a fixed seed.
* ``mnist``: the four MNIST IDX files (``train-images-idx3-ubyte`` etc., gzipped or
  not) in a folder.
* ``cifar10``: the CIFAR-10 python batches (``data_batch_1..5``, ``test_batch``) in a
  folder (or its ``cifar-10-batches-py`` subfolder).
* ``libsvm``: a LIBSVM/SVMlight file (``FILE.t`` next to it is the test set if present,
  otherwise a fixed stratified 80/20 split).

Every loader returns a ``Dataset`` with features scaled to [0, 1] (``unit``) and a
``standardised`` copy (zero mean, unit variance per feature, statistics from the
training set).  A missing or malformed file raises a one-line ValueError naming it.
"""

from __future__ import annotations

import gzip
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DATASETS = ("digits", "mnist", "cifar10", "libsvm")
_SPLIT_SEED = 0
_MAX_DENSE = 400_000_000  # elements of a dense LIBSVM matrix we agree to build


@dataclass(frozen=True)
class Dataset:
    """Train/test arrays: x float64 (n, f) in [0, 1], y int64 labels 0..k-1."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    image_shape: tuple[int, int, int] | None = None  # (H, W, C), channels-last
    source: str = ""

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "train": int(len(self.y_train)),
            "test": int(len(self.y_test)),
            "features": self.n_features,
            "classes": self.n_classes,
            "image_shape": list(self.image_shape) if self.image_shape else None,
        }

    def standardised(self) -> tuple[np.ndarray, np.ndarray]:
        """(x_train, x_test) with each feature at zero mean and unit variance on the
        training set; constant features are only centred."""
        mean = self.x_train.mean(axis=0)
        std = self.x_train.std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)
        return (self.x_train - mean) / std, (self.x_test - mean) / std


def load_dataset(name: str, data_dir: str | Path | None = None) -> Dataset:
    """The data set ``name`` (see module doc); ``libsvm:FILE`` names a LIBSVM file."""
    kind, _, arg = name.partition(":")
    if kind == "digits" and not arg:
        return load_digits()
    if kind == "mnist" and not arg:
        return load_mnist(_need_dir(data_dir, "mnist"))
    if kind == "cifar10" and not arg:
        return load_cifar10(_need_dir(data_dir, "cifar10"))
    if kind == "libsvm":
        if not arg:
            raise ValueError("data libsvm needs a file: --data libsvm:FILE")
        path = Path(arg)
        if not path.is_absolute() and data_dir is not None:
            path = Path(data_dir) / path
        return load_libsvm(path)
    raise ValueError(f"unknown data {name!r}; choose from: digits, mnist, cifar10, libsvm:FILE")


def _need_dir(data_dir: str | Path | None, what: str) -> Path:
    if data_dir is None:
        raise ValueError(f"data {what} needs --data-dir, the folder holding its files")
    path = Path(data_dir)
    if not path.is_dir():
        raise ValueError(f"data-dir {path} is not a folder")
    return path


def load_digits() -> Dataset:
    """scikit-learn's bundled 8x8 digits (pixel values 0..16 scaled to [0, 1])."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    bunch = sk_digits()
    x = bunch.data.astype(np.float64) / 16.0
    y = bunch.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, random_state=_SPLIT_SEED, stratify=y)
    return Dataset("digits", xtr, ytr, xte, yte, 10, (8, 8, 1), "sklearn.datasets.load_digits")


# ---- MNIST IDX ---------------------------------------------------------------------------

_MNIST = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzipped or not) as a uint8 array; ValueError naming the file otherwise.

    Format: two zero bytes, a type byte (0x08 = unsigned byte), the number of
    dimensions, then one big-endian uint32 per dimension, then the data.
    """
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}") from None
    except (EOFError, gzip.BadGzipFile, ValueError) as e:
        raise ValueError(f"{path} is not a valid gzip file: {e}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    nd = raw[3]
    head = 4 + 4 * nd
    if len(raw) < head:
        raise ValueError(f"{path} is truncated (header)")
    dims = tuple(int(v) for v in np.frombuffer(raw[4:head], dtype=">u4"))
    size = int(np.prod(dims))
    if len(raw) != head + size:
        raise ValueError(
            f"{path} holds {len(raw) - head} data bytes, its header {list(dims)} says {size}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=head).reshape(dims)


def _find(folder: Path, stem: str) -> Path:
    for name in (
        stem,
        stem + ".gz",
        stem.replace("-idx", ".idx"),
        stem.replace("-idx", ".idx") + ".gz",
    ):
        if (folder / name).is_file():
            return folder / name
    raise ValueError(f"missing MNIST file {folder / stem} (or {stem}.gz)")


def load_mnist(folder: Path) -> Dataset:
    """MNIST from its four IDX files in ``folder`` (pixels scaled to [0, 1])."""
    arrays = {}
    for key, stem in _MNIST.items():
        path = _find(folder, stem)
        a = read_idx(path)
        if key.startswith("x") and a.ndim != 3:
            raise ValueError(f"{path} should hold images (3 dimensions), has {a.ndim}")
        if key.startswith("y") and (a.ndim != 1 or a.max(initial=0) > 9):
            raise ValueError(f"{path} should hold labels 0..9 (1 dimension)")
        arrays[key] = (a, path)
    for part in ("train", "test"):
        (x, px), (y, py) = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(f"{px} has {len(x)} images but {py} has {len(y)} labels")
        if part == "test" and x.shape[1:] != arrays["x_train"][0].shape[1:]:
            raise ValueError(f"{px} images are {x.shape[1:]}, training images differ")
    xtr, xte = arrays["x_train"][0], arrays["x_test"][0]
    h, w = xtr.shape[1:]
    return Dataset(
        "mnist",
        xtr.reshape(len(xtr), -1) / 255.0,
        arrays["y_train"][0].astype(np.int64),
        xte.reshape(len(xte), -1) / 255.0,
        arrays["y_test"][0].astype(np.int64),
        10,
        (h, w, 1),
        str(folder),
    )


# ---- CIFAR-10 python batches ---------------------------------------------------------------

_CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise ValueError(f"missing CIFAR-10 file {path}")
    try:
        with path.open("rb") as f:
            doc = pickle.load(f, encoding="bytes")  # noqa: S301 - the user's own data files
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}") from None
    except Exception as e:  # unpickling raises many kinds of errors on bad input
        raise ValueError(f"{path} is not a CIFAR-10 python batch ({type(e).__name__})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path} is not a CIFAR-10 python batch (not a dict)")
    data = doc.get(b"data", doc.get("data"))
    labels = doc.get(b"labels", doc.get("labels"))
    try:
        x = np.asarray(data, dtype=np.uint8)
        y = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError):
        raise ValueError(f"{path} has unreadable data or labels") from None
    if x.ndim != 2 or x.shape[1] != 3072 or y.shape != (len(x),) or len(x) == 0:
        raise ValueError(f"{path} should hold data (n, 3072) and n labels")
    if y.min() < 0 or y.max() > 9:
        raise ValueError(f"{path} has labels outside 0..9")
    return x, y


def load_cifar10(folder: Path) -> Dataset:
    """CIFAR-10 from the python batches (32x32x3 images, channels-last, scaled to [0, 1])."""
    if (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"
    parts = [_cifar_batch(folder / name) for name in _CIFAR_TRAIN]
    xte, yte = _cifar_batch(folder / "test_batch")
    xtr = np.concatenate([p[0] for p in parts])
    ytr = np.concatenate([p[1] for p in parts])

    def images(x: np.ndarray) -> np.ndarray:  # rows are R, G, B planes of 32x32
        return x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).reshape(len(x), -1) / 255.0

    return Dataset("cifar10", images(xtr), ytr, images(xte), yte, 10, (32, 32, 3), str(folder))


# ---- LIBSVM ------------------------------------------------------------------------------


def load_libsvm(path: Path) -> Dataset:
    """A LIBSVM-format file (sklearn.datasets.load_svmlight_file); features min-max scaled
    to [0, 1] on the training set; labels mapped to 0..k-1 in sorted order."""
    from sklearn.datasets import load_svmlight_file, load_svmlight_files
    from sklearn.model_selection import train_test_split

    if not path.exists():
        raise ValueError(f"missing LIBSVM file {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a LIBSVM file: --data libsvm:FILE")
    if not path.is_file():
        raise ValueError(f"{path} is not a regular file (a LIBSVM file is)")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty: a LIBSVM file holds one example per line")
    test = Path(str(path) + ".t")
    try:
        if test.is_file():
            xtr, ytr, xte, yte = load_svmlight_files([str(path), str(test)])
        else:
            xtr, ytr = load_svmlight_file(str(path))
            xte = yte = None
    except (ValueError, OSError, UnicodeDecodeError) as e:
        bad = test if test.is_file() and str(path) not in str(e) else path
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f"{bad} is not a valid LIBSVM file: {first}") from None
    if xtr.shape[0] < 2:
        raise ValueError(f"{path} holds {xtr.shape[0]} example(s); need at least 2")
    if xtr.shape[0] * xtr.shape[1] > _MAX_DENSE:
        raise ValueError(f"{path} is too large to train on densely ({xtr.shape} features)")
    classes, ytr_i = np.unique(ytr, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"{path} has a single class; need at least 2")
    x = np.asarray(xtr.todense(), dtype=np.float64)
    if xte is None:
        strat = ytr_i if np.bincount(ytr_i).min() >= 2 else None
        x, x_test, ytr_i, y_test = train_test_split(
            x, ytr_i, test_size=0.2, random_state=_SPLIT_SEED, stratify=strat
        )
    else:
        x_test = np.asarray(xte.todense(), dtype=np.float64)
        pos = np.searchsorted(classes, yte)
        pos = np.minimum(pos, len(classes) - 1)
        if not np.all(classes[pos] == yte):
            raise ValueError(f"{test} has labels that do not occur in {path}")
        y_test = pos
    lo, hi = x.min(axis=0), x.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return Dataset(
        "libsvm",
        (x - lo) / span,
        ytr_i.astype(np.int64),
        np.clip((x_test - lo) / span, 0.0, 1.0),
        y_test.astype(np.int64),
        len(classes),
        None,
        str(path),
    )
