"""Milliseconds per image of each baseline against the same work done with bare library calls.

For each image size every baseline is fitted on a few synthetic train images; then its
``predict`` is timed against a "bare" pipeline that does the same job written directly
with scikit-image / OpenCV / numpy / scipy / scikit-learn calls, as a user without
visionseg would: grey or Lab conversion, background flattening (downscale, blur, upscale),
the threshold / watershed (EDT, peaks, h-maxima) / ridge (``sato``, hysteresis) / k-means
call (nearest centre by ``scipy.cluster.vq``),
connected components, ``remove_small_objects``, region features with
``skimage.measure.regionprops_table``, and the same fitted class rule. Both sides run
interleaved on the same images in one process; the table shows the median ms/image of
each, their ratio (target <= 1.2), and the share of pixels on which the two class masks
agree (over pixels either calls a defect; small differences come from the background
estimates, which are computed differently).

    python -m benchmarks.baselines_speed                 # 512 and 2048 px
    python -m benchmarks.baselines_speed --sizes 512 --images 3 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np
from scipy import ndimage as ndi
from scipy.cluster.vq import vq
from skimage.feature import peak_local_max
from skimage.filters import (
    apply_hysteresis_threshold,
    gaussian,
    sato,
    threshold_multiotsu,
    threshold_otsu,
)
from skimage.measure import regionprops_table
from skimage.morphology import h_maxima, remove_small_objects
from skimage.segmentation import watershed

from visionseg.baselines import (
    AdaptiveBaseline,
    KMeansBaseline,
    MultiOtsuBaseline,
    OtsuBaseline,
    RidgeBaseline,
    WatershedBaseline,
)
from visionseg.baselines.base import RegionBaseline
from visionseg.data.synthetic import CLASSES, make_sample

Bare = Callable[[np.ndarray], np.ndarray]


def blur_small(values: np.ndarray, sigma_frac: float) -> tuple[np.ndarray, float]:
    """Background at about 4 px sigma after an INTER_AREA downscale: (small, scale)."""
    h, w = values.shape[:2]
    sigma = sigma_frac * min(h, w)
    scale = min(1.0, 4.0 / sigma)
    small = cv2.resize(values, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(small, (0, 0), sigma * scale, borderType=cv2.BORDER_REFLECT), scale


def flatten(values: np.ndarray, sigma_frac: float) -> np.ndarray:
    small, _ = blur_small(values, sigma_frac)
    h, w = values.shape[:2]
    return values - cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def noise(gray: np.ndarray) -> float:
    rows = gray[:: max(1, gray.shape[0] // 64)].astype(np.float32)
    return float(1.4826 * np.median(np.abs(np.diff(rows, axis=1))) / np.sqrt(2.0))


def regions_of(fg: np.ndarray, min_area: int) -> np.ndarray:
    fg = remove_small_objects(fg, max_size=min_area - 1, connectivity=2)
    return cv2.connectedComponents(fg.astype(np.uint8), connectivity=8, ltype=cv2.CV_32S)[1]


def name_regions(image: np.ndarray, labels: np.ndarray, method: RegionBaseline) -> np.ndarray:
    """Class mask from regions: regionprops features, then the method's fitted rule."""
    if labels.max() == 0:
        return np.zeros(labels.shape, np.uint8)
    if not method.rule.fitted:
        return np.where(labels > 0, method.rule.plain_class, 0).astype(np.uint8)
    h, w = labels.shape
    lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    props = regionprops_table(
        labels,
        intensity_image=lab,
        properties=("label", "area", "centroid", "inertia_tensor_eigvals", "intensity_mean"),
    )
    background, scale = blur_small(image, 0.1)
    background = cv2.cvtColor(background.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    cy = np.clip((props["centroid-0"] * scale).astype(int), 0, background.shape[0] - 1)
    cx = np.clip((props["centroid-1"] * scale).astype(int), 0, background.shape[1] - 1)
    mean = np.stack([props[f"intensity_mean-{c}"] for c in range(3)], axis=1)
    delta = mean - background[cy, cx]
    major = props["inertia_tensor_eigvals-0"] + 1 / 12
    minor = props["inertia_tensor_eigvals-1"] + 1 / 12
    area = props["area"]
    features = np.column_stack(
        [
            np.log(area / (h * w)),
            0.5 * np.log(major / minor),
            area / (4 * np.pi * np.sqrt(major * minor)),
            delta,
            np.hypot(delta[:, 1], delta[:, 2]),
        ]
    )
    lut = np.zeros(labels.max() + 1, np.uint8)
    lut[props["label"]] = method.rule.model.predict(features)
    return lut[labels]


def deviation(gray: np.ndarray, sigma: float) -> np.ndarray:
    values = gray.astype(np.float32)
    return flatten(values, sigma) if sigma > 0 else values - np.median(values)


def otsu_foreground(gray: np.ndarray, settings: dict) -> np.ndarray:
    """Otsu's threshold of the (flattened) grey image with the method's fitted settings."""
    dev = deviation(gray, settings["flatten_sigma"])
    floor = settings["min_contrast"] * noise(gray)
    if settings["polarity"] == "both":
        return np.abs(dev) > max(threshold_otsu(np.abs(dev)), floor)
    t = threshold_otsu(dev)
    polarity = settings["polarity"]
    if polarity == "auto":
        polarity = "bright" if 2 * np.count_nonzero(dev > t) <= dev.size else "dark"
    return dev > max(t, floor) if polarity == "bright" else dev <= min(t, -floor)


def detect_otsu(method: OtsuBaseline) -> Bare:
    def run(image: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        return regions_of(otsu_foreground(gray, method.settings), method.min_area)

    return run


def detect_multi_otsu(method: MultiOtsuBaseline) -> Bare:
    settings, levels = method.settings, method.levels

    def run(image: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        dev = deviation(gray, settings["flatten_sigma"])
        index = np.digitize(dev, threshold_multiotsu(dev, classes=levels), right=True)
        base = np.bincount(index.ravel()).argmax()
        floor = settings["min_contrast"] * noise(gray)
        dark, bright = (index < base) & (dev <= -floor), (index > base) & (dev > floor)
        fg = {"dark": dark, "bright": bright}.get(settings["polarity"], dark | bright)
        return regions_of(fg, method.min_area)

    return run


def detect_adaptive(method: AdaptiveBaseline) -> Bare:
    settings = method.settings

    def run(image: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        above = gray > threshold_otsu(gray)
        gap = gray[above].mean() - gray[~above].mean()
        polarity = settings["polarity"]
        if polarity == "auto":
            polarity = "bright" if 2 * np.count_nonzero(above) <= gray.size else "dark"
        block = max(3, int(settings["block"] * min(gray.shape)) | 1)
        offset = max(settings["offset"] * gap, settings["min_contrast"] * noise(gray), 1.0)
        args = (1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, offset)
        fg = np.zeros(gray.shape, bool)
        if polarity in ("dark", "both"):
            fg |= cv2.adaptiveThreshold(gray, *args) > 0
        if polarity in ("bright", "both"):
            fg |= cv2.adaptiveThreshold(255 - gray, *args) > 0
        return regions_of(fg, method.min_area)

    return run


def typical_radius(fg: np.ndarray, min_area: int) -> float:
    labels, count = ndi.label(fg, structure=np.ones((3, 3)))
    if count == 0:
        return 0.0
    index = np.arange(1, count + 1)
    depth = ndi.maximum(ndi.distance_transform_edt(fg), labels, index)
    areas = ndi.sum_labels(fg, labels, index)
    keep = areas >= min_area
    order = np.argsort(depth[keep])
    weights = np.cumsum(areas[keep][order])
    return float(depth[keep][order][np.searchsorted(weights, weights[-1] / 2.0)])


def detect_watershed(method: WatershedBaseline) -> Bare:
    def run(image: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        radius = typical_radius(otsu_foreground(gray, method.settings), method.min_area)
        sigma = min(method.smooth * radius, 4.0)
        if sigma >= 0.5:
            gray = gaussian(gray.astype(np.float32), round(sigma, 1), preserve_range=True)
        components = regions_of(otsu_foreground(gray, method.settings), method.min_area)
        fg = components > 0
        distance = ndi.distance_transform_edt(fg)
        peaks = peak_local_max(
            distance,
            min_distance=max(1, round(method.min_distance * radius)),
            threshold_abs=method.min_radius,
            labels=components,
            exclude_border=False,
        )
        markers = np.zeros(fg.shape, np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        if method.dynamic > 0:  # one marker per h-maximum holding a peak
            plateaus = ndi.label(h_maxima(distance, method.dynamic * radius), np.ones((3, 3)))[0]
            held = np.unique(plateaus[tuple(peaks.T)])
            markers = np.where(np.isin(plateaus, held[held > 0]), plateaus, 0)
        labels = watershed(-distance, markers, mask=fg)
        unmarked = fg & (labels == 0)
        labels[unmarked] = components[unmarked] + labels.max()
        return labels

    return run


def detect_ridge(method: RidgeBaseline) -> Bare:
    settings = method.settings
    sides = {"dark": (True,), "bright": (False,), "both": (True, False)}[settings["polarity"]]

    def run(image: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        response = np.maximum.reduce(
            [sato(gray, sigmas=settings["scales"], black_ridges=dark) for dark in sides]
        )
        first = threshold_otsu(response)
        high = settings["high"] * threshold_otsu(response[response > first])
        lines = apply_hysteresis_threshold(response, settings["low"] * high, high)
        labels = regions_of(lines, method.min_area)
        props = regionprops_table(labels, properties=("label", "bbox"))
        length = np.hypot(props["bbox-2"] - props["bbox-0"], props["bbox-3"] - props["bbox-1"])
        keep = np.zeros(labels.max() + 1, bool)
        keep[props["label"][length >= method.min_length]] = True
        return np.where(keep[labels], labels, 0)

    return run


def detect_kmeans(method: KMeansBaseline) -> Bare:
    def run(image: np.ndarray) -> np.ndarray:
        lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
        if method.flatten_sigma:
            lab = flatten(lab, method.flatten_sigma)
        h, w = lab.shape[:2]
        step = max(1, int(np.ceil(np.sqrt(h * w / method.max_pixels))))
        sample = np.ascontiguousarray(lab[::step, ::step].reshape(-1, 3))
        cv2.setRNGSeed(method.seed)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, method.iterations, 0.1)
        _, _, centers = cv2.kmeans(
            sample, method.k, None, criteria, method.attempts, cv2.KMEANS_PP_CENTERS
        )
        clusters = vq(lab.reshape(-1, 3), centers, check_finite=False)[0].reshape(h, w)
        sizes = np.bincount(clusters.ravel(), minlength=method.k)
        delta = centers.astype(np.float64) - centers[sizes.argmax()]
        share = sizes / sizes.sum()
        features = np.column_stack([np.log(share + 1e-6), delta, np.linalg.norm(delta, axis=1)])
        if method.cluster_rule is None:  # unsupervised rule: the smallest non-empty cluster
            present = np.flatnonzero(sizes > 0)
            defect = np.zeros(len(sizes), bool)
            defect[present[sizes[present].argmin()]] = len(present) >= 2
        else:
            defect = (method.cluster_rule.predict(features) == 1) & (sizes > 0)
        return regions_of(defect[clusters], method.min_area)

    return run


CASES: list[tuple[type[RegionBaseline], Callable[..., Bare]]] = [
    (OtsuBaseline, detect_otsu),
    (MultiOtsuBaseline, detect_multi_otsu),
    (AdaptiveBaseline, detect_adaptive),
    (WatershedBaseline, detect_watershed),
    (RidgeBaseline, detect_ridge),
    (KMeansBaseline, detect_kmeans),
]


def timed(fn: Callable[[np.ndarray], object], image: np.ndarray) -> float:
    start = time.perf_counter()
    fn(image)
    return (time.perf_counter() - start) * 1000.0


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    either = (a > 0) | (b > 0)
    if not either.any():
        return 1.0
    return float(np.count_nonzero((a == b) & either) / np.count_nonzero(either))


def run(sizes: list[int], n_images: int, repeats: int, fit_images: int) -> list[dict]:
    rows = []
    for size in sizes:
        rng = np.random.default_rng([7, size])
        train = [make_sample(rng, size, p_good=0.0) for _ in range(fit_images)]
        images = [make_sample(rng, size, p_good=0.0)[0] for _ in range(n_images)]
        for cls, make_detect in CASES:
            method = cls(CLASSES).fit(train)
            detect = make_detect(method)

            def bare(image: np.ndarray, method=method, detect=detect) -> np.ndarray:
                return name_regions(image, detect(image), method)

            ours, theirs = [], []
            for image in images[:1]:  # warm-up
                method.predict(image)
                bare(image)
            for _ in range(repeats):
                for image in images:
                    ours.append(timed(method.predict, image))
                    theirs.append(timed(bare, image))
            agree = [agreement(method.predict(im).mask, bare(im)) for im in images]
            row = {
                "size": size,
                "method": method.name,
                "ms": statistics.median(ours),
                "bare_ms": statistics.median(theirs),
                "agree": float(np.mean(agree)),
            }
            rows.append(row)
            print(
                f"{size:>5}  {row['method']:<11} {row['ms']:9.1f} {row['bare_ms']:9.1f} "
                f"{row['ms'] / row['bare_ms']:6.2f} {row['agree']:6.3f}",
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
    print(f"{'size':>5}  {'method':<11} {'ms/img':>9} {'bare ms':>9} {'ratio':>6} {'agree':>6}")
    run(args.sizes, args.images, args.repeats, args.fit_images)


if __name__ == "__main__":
    main()
