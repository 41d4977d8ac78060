"""Convolution (im2col + one matmul) and 3x3/2 max-pooling, forward and backward.

Images are channels-last, shape (R, n, H, W, C) with R runs (or 1, shared by every run).
Convolutions are k x k with 'same' zero padding, computed as one batched matmul::

    cols[r, (i, h, w), (a, b, c)] = xpad[r, i, h + a, w + b, c]
    out[r] = cols[r] @ W[r]            W[r]: (k k C, F), rows ordered (a, b, c)

and backward ``dW = cols^T @ dout``, ``dcols = dout @ W^T`` scattered back (col2im) by
k*k strided adds.  The columns are built from k*k shifted slices (no fancy indexing, no
stride tricks), which works unchanged on CuPy.  Channels are the fastest axis of the
columns, so each of the k*k copies (and col2im's adds) moves runs of C contiguous floats;
with the channel axis outside, every pass strided through all the columns (measured: the
CNN's step was dominated by col2im).
"""

from __future__ import annotations

from typing import Any

from ...core.backend import array_module


def im2col(x: Any, k: int) -> Any:
    """(R, n, H, W, C) -> (R, n*H*W, k*k*C) columns for a k x k 'same' convolution."""
    xp = array_module(x)
    r, n, h, w, c = x.shape
    p = k // 2
    xpad = xp.pad(x, ((0, 0), (0, 0), (p, p), (p, p), (0, 0)))
    cols = xp.stack(
        [xpad[:, :, a : a + h, b : b + w, :] for a in range(k) for b in range(k)], axis=-2
    )
    return cols.reshape(r, n * h * w, c * k * k)


def col2im(dcols: Any, shape: tuple[int, ...], k: int) -> Any:
    """Adjoint of ``im2col``: (R, n*H*W, k*k*C) -> (R, n, H, W, C), summing overlaps."""
    xp = array_module(dcols)
    r, n, h, w, c = shape
    p = k // 2
    d = dcols.reshape(r, n, h, w, k * k, c)
    out = xp.zeros((r, n, h + 2 * p, w + 2 * p, c), dtype=dcols.dtype)
    for a in range(k):
        for b in range(k):
            out[:, :, a : a + h, b : b + w, :] += d[..., a * k + b, :]
    return out[:, :, p : p + h, p : p + w, :]


def conv_forward(x: Any, weight: Any, bias: Any, k: int) -> tuple[Any, Any]:
    """'Same' k x k convolution: returns (output (R, n, H, W, F), cols for backward)."""
    r, n, h, w, _ = x.shape
    cols = im2col(x, k)
    out = array_module(x).matmul(cols, weight) + bias[:, None, :]
    return out.reshape(out.shape[0], n, h, w, weight.shape[-1]), cols


def conv_backward(
    dout: Any, cols: Any, weight: Any, x_shape: tuple[int, ...], k: int, need_dx: bool
) -> tuple[Any, Any, Any]:
    """Gradients (dW (R, kkC, F), db (R, F), dx or None) of ``conv_forward``."""
    xp = array_module(dout)
    r = dout.shape[0]
    dflat = dout.reshape(r, -1, dout.shape[-1])
    dw = xp.matmul(cols.transpose(0, 2, 1), dflat)
    db = dflat.sum(axis=1)
    dx = None
    if need_dx:
        dcols = xp.matmul(dflat, weight.transpose(0, 2, 1))
        dx = col2im(dcols, (r, *x_shape[1:]), k)
    return dw, db, dx


def pool_shape(h: int) -> int:
    """Output size of a 3x3 max-pool with stride 2 and padding 1: ceil(h / 2)."""
    return (h + 1) // 2


def maxpool_forward(x: Any) -> tuple[Any, Any]:
    """3x3 max-pool, stride 2, padding 1 (-inf): (output, argmax index 0..8 per output)."""
    xp = array_module(x)
    r, n, h, w, c = x.shape
    ho, wo = pool_shape(h), pool_shape(w)
    xpad = xp.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-xp.inf)
    best = xpad[:, :, 0 : 2 * ho : 2, 0 : 2 * wo : 2, :].copy()
    idx = xp.zeros(best.shape, dtype=xp.int8)
    for k in range(1, 9):
        a, b = divmod(k, 3)
        cand = xpad[:, :, a : a + 2 * ho - 1 : 2, b : b + 2 * wo - 1 : 2, :]
        better = cand > best
        best = xp.where(better, cand, best)
        idx[better] = k
    return best, idx


def maxpool_backward(dout: Any, idx: Any, x_shape: tuple[int, ...]) -> Any:
    """Route each output's gradient to the input its maximum came from (summing overlaps)."""
    xp = array_module(dout)
    r, n, h, w, c = x_shape
    ho, wo = dout.shape[2], dout.shape[3]
    dpad = xp.zeros((dout.shape[0], n, h + 2, w + 2, c), dtype=dout.dtype)
    for k in range(9):
        a, b = divmod(k, 3)
        dpad[:, :, a : a + 2 * ho - 1 : 2, b : b + 2 * wo - 1 : 2, :] += dout * (idx == k)
    return dpad[:, :, 1 : h + 1, 1 : w + 1, :]
