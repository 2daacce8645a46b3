"""Sequence and image pipelines: ``Pipeline.Image.make`` / ``Pipeline.Sequence.make`` against Pillow + numpy +
scikit-learn doing the same reading, encoding and splitting.

Data: ``--images`` RGB images of 64x64 (written by this script as PNG files before anything is timed) with a
binary label, and a ``--samples`` x ``--timesteps`` x ``--features`` float64 sequence array (default 10,000 x
500 x 8, 320 MB) with a binary label.

Work, both ways: a stratified split (20 % test, 20 % validation); images read with Pillow into samples x channels
x height x width, a MinMaxScaler per channel fitted on the train images; sequences a StandardScaler per feature
(over every timestep) fitted on the train samples. The direct way keeps everything in memory and encodes the
train split; the pipeline additionally hashes, compresses and stores the array in a SQLite file with the
splits and fitted encoders (it encodes a split only when ``samples_for`` asks, timed separately).

Each approach runs in a child forked from the process that made the data, so both start from the same memory
state; peak memory is the child's peak RSS above its RSS at the start (Linux ``VmHWM``), compared with the raw
array's size. Targets: ``make()`` at most 2x the direct time, peak memory under 2x the raw array.

    python benchmarks/arrays.py --images 2000 --samples 2000
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler

SIZE_TEST, SIZE_VALIDATION, SEED = 0.2, 0.2, 0


def write_images(folder: Path, count: int) -> pd.DataFrame:
    """``count`` 64x64 RGB PNG files (smooth gradients plus noise, so they compress like photos) and labels."""
    rng = np.random.default_rng(SEED)
    label = rng.integers(0, 2, size=count)
    ramp = np.linspace(0, 1, 64)
    for i in range(count):
        base = np.stack([np.outer(ramp, ramp), np.outer(ramp[::-1], ramp), np.outer(ramp, ramp[::-1])], axis=-1)
        pixels = (base * 200 + 40 * label[i] + rng.normal(0, 8, size=(64, 64, 3))).clip(0, 255).astype(np.uint8)
        Image.fromarray(pixels, mode="RGB").save(folder / f"{i:05d}.png")
    return pd.DataFrame({"label": label})


def make_sequences(samples: int, timesteps: int, features: int) -> tuple[np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(SEED)
    label = rng.integers(0, 2, size=samples)
    array = rng.normal(size=(samples, timesteps, features))
    array[:, :, 0] += label[:, None]
    return array, pd.DataFrame({"label": label})


def _split(label: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = np.arange(len(label))
    rest, test = train_test_split(rows, test_size=SIZE_TEST, stratify=label, random_state=SEED)
    train, validation = train_test_split(rest, test_size=SIZE_VALIDATION / (1 - SIZE_TEST), stratify=label[rest],
                                         random_state=SEED)
    return train, validation, test


def direct_images(data: dict) -> tuple[float, tuple[int, ...]]:
    """Pillow + numpy + scikit-learn: read, split, fit a per-channel scaler on train, encode the train split."""
    started = time.perf_counter()
    paths = sorted(data["folder"].iterdir())
    array = np.stack([np.moveaxis(np.asarray(Image.open(path)), -1, 0) for path in paths])
    train, _, _ = _split(data["labels"]["label"].to_numpy())
    scaler = MinMaxScaler().fit(np.moveaxis(array[train], 1, -1).reshape(-1, 3))
    encoded = np.moveaxis(scaler.transform(np.moveaxis(array[train], 1, -1).reshape(-1, 3))
                          .reshape(len(train), 64, 64, 3), -1, 1).astype(np.float32)
    return time.perf_counter() - started, encoded.shape


def direct_sequences(data: dict) -> tuple[float, tuple[int, ...]]:
    """numpy + scikit-learn: split, fit a per-feature scaler on train, encode the train split."""
    started = time.perf_counter()
    array = data["array"]
    train, _, _ = _split(data["labels"]["label"].to_numpy())
    features = array.shape[2]
    scaler = StandardScaler().fit(array[train].reshape(-1, features))
    encoded = scaler.transform(array[train].reshape(-1, features)).reshape(len(train), -1, features)
    return time.perf_counter() - started, encoded.astype(np.float32).shape


def pipeline_images(data: dict) -> tuple[float, tuple[int, ...]]:
    import assay

    started = time.perf_counter()
    splitset = assay.Pipeline.Image.make(data["folder"], label_df_or_path=data["labels"], label_column="label",
                                         feature_encoders=[dict(sklearn_preprocess=MinMaxScaler())],
                                         size_test=SIZE_TEST, size_validation=SIZE_VALIDATION, seed=SEED)
    seconds = time.perf_counter() - started
    data["splitset"] = splitset
    return seconds, (splitset.split_sizes["train"], *splitset.features_shape)


def pipeline_sequences(data: dict) -> tuple[float, tuple[int, ...]]:
    import assay

    started = time.perf_counter()
    splitset = assay.Pipeline.Sequence.make(data["array"], label_df_or_path=data["labels"], label_column="label",
                                            feature_encoders=[dict(sklearn_preprocess=StandardScaler())],
                                            size_test=SIZE_TEST, size_validation=SIZE_VALIDATION, seed=SEED)
    seconds = time.perf_counter() - started
    data["splitset"] = splitset
    return seconds, (splitset.split_sizes["train"], *splitset.features_shape)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status (this benchmark needs Linux)")


def _child(work: Callable, data: dict, folder: Path, connection) -> None:
    is_pipeline = work in (pipeline_images, pipeline_sequences)
    if is_pipeline:
        import assay

        assay.setup(f"sqlite:///{folder}/bench.sqlite3")  # migrating is setup, not part of the measured work
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
    start_kb = _status_kb("VmRSS")
    seconds, shape = work(data)
    peak = (_status_kb("VmHWM") - start_kb) * 1024
    samples_seconds = None
    if is_pipeline:  # the first training job's arrays, read lazily from the stored chunks and encoded
        started = time.perf_counter()
        encoded = data["splitset"].samples_for("train")["features"]
        samples_seconds = time.perf_counter() - started
        assert encoded.shape == shape, (encoded.shape, shape)
    connection.send((seconds, peak, shape, samples_seconds))


def measure(work: Callable, data: dict) -> tuple[float, int, tuple[int, ...], float | None]:
    """Seconds, peak extra bytes, train-split shape and (pipeline) seconds of ``samples_for("train")``."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    with tempfile.TemporaryDirectory() as folder:
        process = context.Process(target=_child, args=(work, data, Path(folder), send))
        process.start()
        result = receive.recv()
        process.join()
    return result


def report(title: str, raw_bytes: int, direct: tuple, pipeline: tuple) -> bool:
    mb = 2**20
    (d_seconds, d_peak, d_shape, _), (p_seconds, p_peak, p_shape, p_samples) = direct, pipeline
    assert d_shape == p_shape, f"both approaches must give the same train split: {d_shape} vs {p_shape}"
    print(f"\n{title}: raw array {raw_bytes / mb:,.0f} MB; train split {d_shape}")
    print(f"{'approach':<34}{'seconds':>10}{'peak MB':>10}{'x raw':>8}")
    print(f"{'direct (Pillow/numpy/sklearn)':<34}{d_seconds:>10.2f}{d_peak / mb:>10.0f}{d_peak / raw_bytes:>8.2f}")
    print(f"{'Pipeline make()':<34}{p_seconds:>10.2f}{p_peak / mb:>10.0f}{p_peak / raw_bytes:>8.2f}")
    print(f"{'  then samples_for(train)':<34}{p_samples:>10.2f}")
    time_ratio, memory_ratio = p_seconds / d_seconds, p_peak / raw_bytes
    ok = time_ratio <= 2 and memory_ratio < 2
    print(f"make() / direct time: {time_ratio:.2f}x (target <= 2x) {'OK' if time_ratio <= 2 else 'ABOVE TARGET'}; "
          f"make() peak / raw array: {memory_ratio:.2f}x (target < 2x) {'OK' if memory_ratio < 2 else 'ABOVE TARGET'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000, help="RGB 64x64 PNG images to write and read")
    parser.add_argument("--samples", type=int, default=10_000, help="sequence samples")
    parser.add_argument("--timesteps", type=int, default=500)
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--only", choices=["images", "sequences"], default=None, help="run one of the two parts")
    args = parser.parse_args()

    images_ok = sequences_ok = True
    if args.only != "sequences":
        images_ok = _images(args)
    if args.only != "images":
        sequences_ok = _sequences(args)
    print("\nall targets met" if images_ok and sequences_ok else "\nsome targets missed")


def _images(args: argparse.Namespace) -> bool:
    with tempfile.TemporaryDirectory() as folder:
        images = Path(folder) / "images"
        images.mkdir()
        started = time.perf_counter()
        image_data = {"folder": images, "labels": write_images(images, args.images)}
        print(f"wrote {args.images:,} PNG files in {time.perf_counter() - started:.1f} s (not timed below)")
        image_bytes = args.images * 3 * 64 * 64
        return report(f"{args.images:,} RGB images of 64x64", image_bytes,
                      measure(direct_images, image_data), measure(pipeline_images, image_data))


def _sequences(args: argparse.Namespace) -> bool:
    array, labels = make_sequences(args.samples, args.timesteps, args.features)
    sequence_data = {"array": array, "labels": labels}
    return report(f"{args.samples:,} x {args.timesteps} x {args.features} sequences", array.nbytes,
                  measure(direct_sequences, sequence_data), measure(pipeline_sequences, sequence_data))


if __name__ == "__main__":
    main()
