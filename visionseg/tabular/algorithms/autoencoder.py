"""A small torch autoencoder whose latent space is clustered with K-Means.

Useful when the features interact non-linearly: the encoder compresses the scaled feature
matrix to ``latent_dim`` numbers, and K-Means runs there. Training above ``max_rows`` uses a
random sample (the encoder then maps every customer).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.cluster import KMeans

from visionseg.tabular.algorithms.base import Clusterer, margin_confidence, positive, whole


def _mlp(sizes: Sequence[int], final_activation: bool = False):
    import torch.nn as nn

    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or final_activation:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class AutoencoderKMeansClusterer(Clusterer):
    """Autoencoder (MSE reconstruction, Adam) + K-Means on the latent codes.

    Membership is the K-Means distance margin ``1 - d1/d2`` in the latent space. Training
    uses ``threads`` torch threads (1 by default: such a small network only loses time to
    thread hand-offs, by about 50x on a busy 2-core machine).
    """

    name = "autoencoder"

    def __init__(self, n_clusters: int = 4, random_state: int = 0, latent_dim: int = 3,
                 hidden: Sequence[int] = (32, 16), epochs: int = 30, batch_size: int = 256,
                 lr: float = 1e-3, n_init: int = 10, threads: int = 1,
                 max_rows: int | None = 100000, on_oversize: str = "sample") -> None:
        super().__init__(n_clusters, random_state, max_rows, on_oversize)
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.n_init = n_init
        self.threads = threads

    def _check_params(self, n: int) -> None:
        super()._check_params(n)
        for key in ("latent_dim", "epochs", "batch_size", "n_init", "threads"):
            whole(key, getattr(self, key), low=1)
        for size in self.hidden:
            whole("hidden", size, low=1)
        positive("lr", self.lr)

    def _fit(self, X):
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            return self._train(np.asarray(X, dtype="float32"))
        finally:
            torch.set_num_threads(previous)

    def _train(self, X: np.ndarray):
        import torch

        generator = torch.Generator().manual_seed(self.random_state)
        torch.manual_seed(self.random_state)
        sizes = [X.shape[1], *self.hidden, self.latent_dim]
        self.encoder_ = _mlp(sizes)
        decoder = _mlp(sizes[::-1])
        params = [*self.encoder_.parameters(), *decoder.parameters()]
        optimiser = torch.optim.Adam(params, lr=self.lr)
        data = torch.from_numpy(X)
        self.losses_ = []
        for _ in range(self.epochs):
            order = torch.randperm(len(data), generator=generator)
            total = 0.0
            for start in range(0, len(data), self.batch_size):
                batch = data[order[start:start + self.batch_size]]
                loss = torch.nn.functional.mse_loss(decoder(self.encoder_(batch)), batch)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total += float(loss.detach()) * len(batch)
            self.losses_.append(total / len(data))
        self.encoder_.eval()
        codes = self.encode(X)
        self.kmeans_ = KMeans(n_clusters=self.n_clusters, n_init=self.n_init,
                              random_state=self.random_state).fit(codes)
        return self.kmeans_.labels_, margin_confidence(self.kmeans_.transform(codes))

    def encode(self, X) -> np.ndarray:
        """Latent codes of the scaled feature matrix ``X``."""
        import torch

        with torch.no_grad():
            return self.encoder_(torch.from_numpy(np.asarray(X, dtype="float32"))).numpy().astype(
                "float64")

    def _predict(self, X):
        distances = self.kmeans_.transform(self.encode(X))
        return distances.argmin(axis=1), margin_confidence(distances)
