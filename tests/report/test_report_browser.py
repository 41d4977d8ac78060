"""The HTML report renders in a real browser: Debian's chromium, headless, takes a
screenshot that is not blank.  Skips (with the reason) where chromium is not installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from report_docs import write  # noqa: E402

from adambench.report import build_report  # noqa: E402

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)")
def test_html_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    import numpy as np
    from matplotlib.image import imread

    written = build_report([write(tmp_path, "regret")], tmp_path / "out", formats=("png",), dpi=60)
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--hide-scrollbars", "--no-first-run", "--allow-file-access-from-files",
            f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1100,2400",
            f"--screenshot={shot}", (Path(written.out) / "report.html").resolve().as_uri(),
        ],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    img = imread(shot)[..., :3]
    assert img.shape[0] == 2400 and img.shape[1] == 1100
    # Rendered content, not a blank page: plenty of non-white pixels and several colours
    # (the optimizers' lines and bands drawn from the embedded images).
    non_white = (img < 0.95).any(axis=2).mean()
    assert non_white > 0.02
    colours = np.unique((img * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50
