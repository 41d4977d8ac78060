"""The neural-net tasks of Kingma & Ba section 6: one module per task.

``make_task(name, n_features, n_classes, image_shape, width)`` builds one; ``width``
is the fraction of the paper's layer sizes (1.0 = MLP 1000-1000, CNN c64-c64-c128-1000,
VAE 500 hidden / 50 latent; logistic regression has no width).
"""

from __future__ import annotations

from .base import ParamLayout, Task
from .cnn import CNN
from .logreg import LogReg
from .mlp import MLP
from .vae import VAE

TASKS = ("logreg", "mlp", "cnn", "vae")
DEFAULT_WIDTH = 0.25

__all__ = ["TASKS", "DEFAULT_WIDTH", "ParamLayout", "Task", "make_task", "CNN", "LogReg", "MLP"]


def make_task(
    name: str,
    n_features: int,
    n_classes: int,
    image_shape: tuple[int, int, int] | None = None,
    width: float = DEFAULT_WIDTH,
) -> Task:
    """The task ``name`` sized for the data; ValueError naming anything invalid."""
    if not (isinstance(width, (int, float)) and width > 0 and width <= 16):
        raise ValueError(f"width must be in (0, 16], got {width!r}")
    if name == "logreg":
        return LogReg(n_features, n_classes)
    if name == "mlp":
        return MLP(n_features, n_classes, hidden=max(1, round(1000 * width)))
    if name == "cnn":
        if image_shape is None:
            raise ValueError("task cnn needs image data (digits, mnist or cifar10), not libsvm")
        return CNN(image_shape, n_classes, width=width)
    if name == "vae":
        return VAE(n_features, hidden=max(1, round(500 * width)), latent=max(1, round(50 * width)))
    raise ValueError(f"unknown task {name!r}; choose from: {', '.join(TASKS)}")
