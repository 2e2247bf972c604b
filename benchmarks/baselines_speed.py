"""Milliseconds per image of each baseline against bare scikit-image / OpenCV calls.

For each image size, every baseline is fitted on a few synthetic train images, then its
``predict`` is timed against a "bare" pipeline that makes the same library calls for the
same detection (grey or Lab conversion, background flattening, the threshold / watershed /
k-means call, connected components) with nothing else: no input checks, noise estimate,
region features or learned class rule. Both sides run interleaved on the same images in
the same process; the table shows the median ms/image of each, their ratio, and how much
of the bare foreground the baseline also reports (its class rule may drop regions).

    python benchmarks/baselines_speed.py                 # 512 and 2048 px
    python benchmarks/baselines_speed.py --sizes 512 --images 3 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np
from skimage.feature import peak_local_max
from skimage.filters import threshold_multiotsu, threshold_otsu
from skimage.segmentation import watershed

from visionseg.baselines import (
    AdaptiveBaseline,
    KMeansBaseline,
    MultiOtsuBaseline,
    OtsuBaseline,
    WatershedBaseline,
)
from visionseg.baselines.base import RegionBaseline
from visionseg.baselines.flatten import noise_sigma
from visionseg.data.synthetic import CLASSES, make_sample

Bare = Callable[[np.ndarray], np.ndarray]


def bare_flatten(values: np.ndarray, sigma_frac: float) -> np.ndarray:
    """Background by downscale, Gaussian blur, upscale (what the baselines do)."""
    h, w = values.shape[:2]
    sigma = sigma_frac * min(h, w)
    scale = min(1.0, 4.0 / sigma)
    small = cv2.resize(values, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma * scale, borderType=cv2.BORDER_REFLECT)
    return values - cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def signed(dev: np.ndarray, polarity: str) -> np.ndarray:
    return {"dark": -dev, "bright": dev, "both": np.abs(dev)}[polarity]


def components(fg: np.ndarray) -> np.ndarray:
    return cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)[1]


def bare_otsu(method: OtsuBaseline) -> Bare:
    polarity, sigma = method.settings["polarity"], method.flatten_sigma

    def run(image: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        score = signed(bare_flatten(gray, sigma), polarity)
        return components(score > threshold_otsu(score)) > 0

    return run


def bare_multi_otsu(method: MultiOtsuBaseline) -> Bare:
    polarity, sigma, levels = method.settings["polarity"], method.flatten_sigma, method.levels

    def run(image: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        dev = bare_flatten(gray, sigma)
        low, *_, high = threshold_multiotsu(dev, classes=levels)
        sides = {"dark": dev < low, "bright": dev > high}
        fg = sides[polarity] if polarity in sides else (dev < low) | (dev > high)
        return components(fg) > 0

    return run


def bare_adaptive(method: AdaptiveBaseline, offset: float) -> Bare:
    polarity = method.settings["polarity"]

    def run(image: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        block = max(3, int(method.block * min(gray.shape)) | 1)
        inv = cv2.THRESH_BINARY_INV
        mean = cv2.ADAPTIVE_THRESH_MEAN_C
        fg = np.zeros(gray.shape, bool)
        if polarity in ("dark", "both"):
            fg |= cv2.adaptiveThreshold(gray, 1, mean, inv, block, offset) > 0
        if polarity in ("bright", "both"):
            fg |= cv2.adaptiveThreshold(255 - gray, 1, mean, inv, block, offset) > 0
        return components(fg) > 0

    return run


def bare_watershed(method: WatershedBaseline) -> Bare:
    otsu = bare_otsu(method)

    def run(image: np.ndarray) -> np.ndarray:
        fg = otsu(image)
        labels = components(fg)
        distance = cv2.distanceTransform(fg.astype(np.uint8), cv2.DIST_L2, 5)
        peaks = peak_local_max(
            distance,
            min_distance=method.min_distance,
            threshold_abs=method.min_radius,
            labels=labels,
            exclude_border=False,
        )
        markers = np.zeros(fg.shape, np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        return watershed(-distance, markers, mask=fg) > 0

    return run


def bare_kmeans(method: KMeansBaseline) -> Bare:
    def run(image: np.ndarray) -> np.ndarray:
        lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
        lab = bare_flatten(lab, method.flatten_sigma)
        h, w = lab.shape[:2]
        step = max(1, int(np.ceil(np.sqrt(h * w / method.max_pixels))))
        sample = np.ascontiguousarray(lab[::step, ::step].reshape(-1, 3))
        cv2.setRNGSeed(method.seed)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, method.iterations, 0.1)
        _, _, centers = cv2.kmeans(
            sample, method.k, None, criteria, method.attempts, cv2.KMEANS_PP_CENTERS
        )
        pixels = lab.reshape(-1, 3)
        clusters = ((centers**2).sum(1) - 2 * pixels @ centers.T).argmin(1).reshape(h, w)
        smallest = np.bincount(clusters.ravel(), minlength=method.k).argmin()
        return components(clusters == smallest) > 0

    return run


CASES: list[tuple[type[RegionBaseline], Callable[..., Bare], str]] = [
    (OtsuBaseline, bare_otsu, "flatten + threshold_otsu + CC"),
    (MultiOtsuBaseline, bare_multi_otsu, "flatten + threshold_multiotsu + CC"),
    (AdaptiveBaseline, bare_adaptive, "cv2.adaptiveThreshold + CC"),
    (WatershedBaseline, bare_watershed, "otsu + distanceTransform + peak_local_max + watershed"),
    (KMeansBaseline, bare_kmeans, "Lab + flatten + cv2.kmeans + assign + CC"),
]


def timed(fn: Callable[[np.ndarray], object], image: np.ndarray) -> float:
    start = time.perf_counter()
    fn(image)
    return (time.perf_counter() - start) * 1000.0


def run(sizes: list[int], n_images: int, repeats: int, fit_images: int) -> list[dict]:
    rows = []
    for size in sizes:
        rng = np.random.default_rng([7, size])
        train = [make_sample(rng, size, p_good=0.0) for _ in range(fit_images)]
        images = [make_sample(rng, size, p_good=0.0)[0] for _ in range(n_images)]
        for cls, make_bare, what in CASES:
            method = cls(CLASSES).fit(train)
            if cls is AdaptiveBaseline:  # the same offset, without estimating noise per image
                noise = noise_sigma(cv2.cvtColor(images[0], cv2.COLOR_RGB2GRAY))
                bare = bare_adaptive(method, max(method.settings["min_contrast"] * noise, 1.0))
            else:
                bare = make_bare(method)
            for image in images[:1]:  # warm-up of both sides
                method.predict(image)
                bare(image)
            ours, theirs, kept = [], [], []
            for _ in range(repeats):
                for image in images:
                    ours.append(timed(method.predict, image))
                    theirs.append(timed(bare, image))
            for image in images:
                found, reference = method.predict(image).mask > 0, bare(image)
                kept.append(np.count_nonzero(found & reference) / max(reference.sum(), 1))
            rows.append(
                {
                    "size": size,
                    "method": method.name,
                    "bare": what,
                    "ms": statistics.median(ours),
                    "bare_ms": statistics.median(theirs),
                    "kept": float(np.mean(kept)),
                }
            )
            row = rows[-1]
            print(
                f"{size:>5}  {row['method']:<11} {row['ms']:9.1f} {row['bare_ms']:9.1f} "
                f"{row['ms'] / row['bare_ms']:6.2f} {row['kept']:6.2f}  {what}",
                flush=True,
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048])
    parser.add_argument("--images", type=int, default=3, help="test images per size")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the images")
    parser.add_argument("--fit-images", type=int, default=4, help="train images per size")
    args = parser.parse_args()
    print(f"OpenCV threads: {cv2.getNumThreads()}")
    header = f"{'size':>5}  {'method':<11} {'ms/img':>9} {'bare ms':>9} {'ratio':>6} {'kept':>6}"
    print(f"{header}  bare pipeline")
    run(args.sizes, args.images, args.repeats, args.fit_images)


if __name__ == "__main__":
    main()
