"""Data loaders: bundled digits, and MNIST IDX, CIFAR-10 pickles and LIBSVM
files generated here in their real formats; missing or malformed files give one-line
errors naming the file."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest

from adambench.problems.data import load_dataset, load_digits, read_idx


def _idx(array: np.ndarray) -> bytes:
    head = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    return head + array.astype(np.uint8).tobytes()


def _write_mnist(folder, gz: bool, n_train=12, n_test=5, rng=None):
    rng = rng or np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    for name, a in arrays.items():
        raw = _idx(a)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)
    return arrays


def test_digits_standardised_fixed_split():
    d = load_digits()
    assert d.x_train.shape == (1437, 64) and d.x_test.shape == (360, 64)
    assert d.image_shape == (8, 8, 1) and d.n_classes == 10
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    xs, xt = d.standardised()
    used = d.x_train.std(axis=0) > 0
    np.testing.assert_allclose(xs.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(xs.std(axis=0)[used], 1, rtol=1e-12)
    assert np.isfinite(xt).all()
    again = load_digits()
    np.testing.assert_array_equal(d.y_test, again.y_test)  # fixed split
    assert set(np.unique(d.y_test)) == set(range(10))


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
def test_mnist_idx_files(tmp_path, gz):
    arrays = _write_mnist(tmp_path, gz)
    d = load_dataset("mnist", tmp_path)
    assert d.x_train.shape == (12, 784) and d.x_test.shape == (5, 784)
    assert d.image_shape == (28, 28, 1)
    np.testing.assert_allclose(d.x_train[3], arrays["train-images-idx3-ubyte"][3].ravel() / 255)
    np.testing.assert_array_equal(d.y_test, arrays["t10k-labels-idx1-ubyte"])


def test_mnist_missing_and_malformed_files(tmp_path):
    with pytest.raises(ValueError, match="missing MNIST file .*train-images-idx3-ubyte"):
        load_dataset("mnist", tmp_path)
    _write_mnist(tmp_path, gz=False)
    bad = tmp_path / "t10k-labels-idx1-ubyte"
    bad.write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 9) + b"\x01" * 4)  # says 9, has 4
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte holds 4 data bytes"):
        load_dataset("mnist", tmp_path)
    bad.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte is not an unsigned-byte IDX"):
        load_dataset("mnist", tmp_path)
    bad.write_bytes(_idx(np.arange(4)))  # 4 labels for 5 images
    with pytest.raises(ValueError, match="has 5 images but .* has 4 labels"):
        load_dataset("mnist", tmp_path)
    gz = tmp_path / "broken.gz"
    gz.write_bytes(b"\x1f\x8b" + b"garbage")
    with pytest.raises(ValueError, match="broken.gz is not a valid gzip file"):
        read_idx(gz)
    with pytest.raises(ValueError, match="needs --data-dir"):
        load_dataset("mnist", None)


def _write_cifar(folder, n=4, rng=None):
    rng = rng or np.random.default_rng(0)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n, 3072)).astype(np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        with (folder / name).open("wb") as f:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": name.encode()}, f)
        batches[name] = (data, labels)
    return batches


def test_cifar10_python_batches(tmp_path):
    sub = tmp_path / "cifar-10-batches-py"
    sub.mkdir()
    batches = _write_cifar(sub)
    d = load_dataset("cifar10", tmp_path)
    assert d.x_train.shape == (20, 3072) and d.x_test.shape == (4, 3072)
    assert d.image_shape == (32, 32, 3)
    data, labels = batches["data_batch_2"]
    img = d.x_train[4].reshape(32, 32, 3)  # first image of batch 2, channels-last
    np.testing.assert_allclose(img[5, 7, 1], data[0, 1024 + 5 * 32 + 7] / 255)  # green plane
    np.testing.assert_array_equal(d.y_train[4:8], labels)


def test_cifar10_missing_and_malformed(tmp_path):
    _write_cifar(tmp_path)
    (tmp_path / "data_batch_3").unlink()
    with pytest.raises(ValueError, match="missing CIFAR-10 file .*data_batch_3"):
        load_dataset("cifar10", tmp_path)
    (tmp_path / "data_batch_3").write_bytes(b"not a pickle at all")
    with pytest.raises(ValueError, match="data_batch_3 is not a CIFAR-10 python batch"):
        load_dataset("cifar10", tmp_path)
    with (tmp_path / "data_batch_3").open("wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match=r"data_batch_3 should hold data \(n, 3072\)"):
        load_dataset("cifar10", tmp_path)


def test_libsvm_file_with_and_without_test_file(tmp_path):
    from sklearn.datasets import dump_svmlight_file

    rng = np.random.default_rng(0)
    x = rng.random((40, 6)) * 10
    x[x < 3] = 0  # sparse
    y = np.repeat([-1, 1], 20)
    path = tmp_path / "train.svm"
    dump_svmlight_file(x, y, str(path))
    d = load_dataset(f"libsvm:{path}")
    assert d.x_train.shape == (32, 6) and d.x_test.shape == (8, 6)  # fixed 80/20 split
    assert d.n_classes == 2 and set(np.unique(d.y_train)) == {0, 1}
    assert d.image_shape is None
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    dump_svmlight_file(x[:10], y[:10], str(path) + ".t")
    d2 = load_dataset("libsvm:train.svm", tmp_path)  # relative to --data-dir
    assert d2.x_train.shape == (40, 6) and d2.x_test.shape == (10, 6)
    np.testing.assert_array_equal(d2.y_test, (y[:10] > 0).astype(int))


def test_libsvm_missing_and_malformed(tmp_path):
    with pytest.raises(ValueError, match="missing LIBSVM file .*nope.svm"):
        load_dataset(f"libsvm:{tmp_path / 'nope.svm'}")
    bad = tmp_path / "bad.svm"
    bad.write_text("1 1:0.5 2:0.25\nthis is : not libsvm\n")
    with pytest.raises(ValueError, match="bad.svm is not a valid LIBSVM file") as e:
        load_dataset(f"libsvm:{bad}")
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="needs a file"):
        load_dataset("libsvm")


def test_unknown_data_is_named():
    with pytest.raises(ValueError, match="unknown data 'imagenet'"):
        load_dataset("imagenet")


def test_libsvm_folder_device_and_empty_file_say_what_they_are(tmp_path):
    with pytest.raises(ValueError, match="is a folder, not a LIBSVM file"):
        load_dataset(f"libsvm:{tmp_path}")
    with pytest.raises(ValueError, match="is not a regular file"):
        load_dataset("libsvm:/dev/null")
    (tmp_path / "empty.svm").write_text("")
    with pytest.raises(ValueError, match="empty.svm is empty"):
        load_dataset(f"libsvm:{tmp_path / 'empty.svm'}")
