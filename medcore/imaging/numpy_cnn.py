"""The shipped image networks run in NumPy: no TensorFlow import on the image page's path.

The image classifiers and the ``image-modality`` router are small VGG-style ensembles
(``medcore.imaging.cnn.build_ensemble``: per member 3 or 4 stages of 2 x [conv 3x3, batch norm, ReLU],
max-pooling between stages, global average pooling, dense logits; the members' logits averaged).
``CnnEnsemble.read`` takes the weights straight from the bundle's ``model.keras`` (a zip of
``config.json`` and ``model.weights.h5``: plain arrays, nothing executed), so predicting needs
NumPy and h5py only: a cold server answers its first image in about a second instead of
waiting 3-6 s for ``import tensorflow``. Tests check every output against Keras itself.

Grad-CAM needs no gradient engine here: each member's logits are a linear function of the
global average of its last ReLU ("cam") activations, so d(mean logit_c)/dA_m[i, j, f] =
W_m[f, c] / (M x H x W) at every position, and Grad-CAM's channel weights are W_m[:, c] up to
a constant factor that the normalisation to [0, 1] removes.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CnnEnsemble"]


@dataclass
class _Member:
    scale: tuple[float, float]  # Rescaling: x * scale + offset
    stages: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]]  # per conv: kernel, bn multiplier, bn shift
    dense: tuple[np.ndarray, np.ndarray]  # kernel (F, K), bias (K,)


class CnnEnsemble:
    """Inference of a ``build_ensemble`` network: ``forward`` -> (logits, pooled features), ``cam``."""

    def __init__(self, members: list[_Member]):
        self.members = members

    @classmethod
    def read(cls, path: Path) -> CnnEnsemble:
        """The network of a ``model.keras`` file written by Keras 3 for ``build_ensemble``.

        Raises:
            ValueError: the file does not hold that architecture (the caller falls back to Keras).
        """
        import h5py

        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            weights_file = io.BytesIO(archive.read("model.weights.h5"))
        layers = config["config"]["layers"]
        # Keras 3 stores each layer's variables under <class in snake case>[_<n>], n counting that
        # class in the model's layer order.
        seen: dict[str, int] = {}
        keys = {}
        for layer in layers:
            snake = _snake(layer["class_name"])
            count = seen.get(snake, -1) + 1
            seen[snake] = count
            keys[layer["config"]["name"]] = snake if count == 0 else f"{snake}_{count}"
        by_name = {layer["config"]["name"]: layer for layer in layers}
        prefixes = [name[: -len("logits")] for name in by_name if name.endswith("logits") and name != "ensemble_logits"]
        if not prefixes:
            raise ValueError("no '<member>_logits' layer: not a build_ensemble network")
        with h5py.File(weights_file, "r") as weights:

            def variables(name: str) -> list[np.ndarray]:
                group = weights["layers"][keys[name]]["vars"]
                return [np.asarray(group[str(i)], dtype=np.float32) for i in range(len(group))]

            members = []
            for prefix in prefixes:
                scale = by_name[f"{prefix}scale"]["config"]
                stages, stage = [], 0
                while f"{prefix}conv{stage}_0" in by_name:
                    convs, conv = [], 0
                    while f"{prefix}conv{stage}_{conv}" in by_name:
                        conv_config = by_name[f"{prefix}conv{stage}_{conv}"]["config"]
                        bn_layer = by_name[f"{prefix}bn{stage}_{conv}"]["config"]
                        if (
                            conv_config["use_bias"]
                            or conv_config["padding"] != "same"
                            or conv_config["strides"] != [1, 1]
                        ):
                            raise ValueError(f"{prefix}conv{stage}_{conv}: not a 3x3 same, stride-1 convolution")
                        (kernel,) = variables(f"{prefix}conv{stage}_{conv}")
                        gamma, beta, mean, variance = variables(f"{prefix}bn{stage}_{conv}")
                        multiplier = gamma / np.sqrt(variance + np.float32(bn_layer["epsilon"]))
                        convs.append((kernel, multiplier, beta - mean * multiplier))
                        conv += 1
                    stages.append(convs)
                    stage += 1
                kernel, bias = variables(f"{prefix}logits")
                members.append(_Member((float(scale["scale"]), float(scale["offset"])), stages, (kernel, bias)))
        return cls(members)

    def _member_maps(self, member: _Member, batch: np.ndarray) -> np.ndarray:
        """The member's last ReLU activations (N, s, s, F)."""
        x = batch.astype(np.float32) * np.float32(member.scale[0]) + np.float32(member.scale[1])
        for index, convs in enumerate(member.stages):
            for kernel, multiplier, shift in convs:
                x = np.maximum(_conv3x3(x, kernel) * multiplier + shift, 0.0)
            if index < len(member.stages) - 1:
                x = _max_pool(x)
        return x

    def maps(self, batch: np.ndarray) -> list[np.ndarray]:
        """Each member's last ReLU activations (N, s, s, F): pass them to ``forward`` and ``cam`` to compute them once."""
        return [self._member_maps(member, batch) for member in self.members]

    def forward(self, batch: np.ndarray, maps: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Logits (N, K), the members' mean, and the pooled features (N, members x F) side by side."""
        maps = maps if maps is not None else self.maps(batch)
        logits, features = [], []
        for member, member_maps in zip(self.members, maps):
            pooled = member_maps.mean(axis=(1, 2))
            features.append(pooled)
            logits.append(pooled @ member.dense[0] + member.dense[1])
        return np.mean(logits, axis=0), np.concatenate(features, axis=1)

    def cam(self, batch: np.ndarray, class_index: int, maps: list[np.ndarray] | None = None) -> np.ndarray:
        """Grad-CAM of ``class_index`` for a batch of one: (s, s) in [0, 1] (zeros when nothing supports it)."""
        maps = maps if maps is not None else self.maps(batch)
        heatmap = 0.0
        for member, member_maps in zip(self.members, maps):
            heatmap = heatmap + np.maximum(member_maps[0] @ member.dense[0][:, class_index], 0.0)
        heatmap = np.asarray(heatmap, dtype=np.float64)
        peak = heatmap.max()
        return heatmap / peak if peak > 0 else np.zeros_like(heatmap)


def _snake(name: str) -> str:
    """Keras's ``to_snake_case`` (``Conv2D`` -> ``conv2d``, ``BatchNormalization`` -> ``batch_normalization``)."""
    import re

    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _conv3x3(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """'same' 3x3 convolution, stride 1, no bias: x (N, H, W, C), kernel (3, 3, C, F) -> (N, H, W, F)."""
    n, h, w, c = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    if c >= 8:  # nine shifted matrix products: no 9 x larger copy of the input (2-4 x faster here)
        out = np.zeros((n, h, w, kernel.shape[-1]), dtype=np.float32)
        for dy in range(3):
            for dx in range(3):
                out += padded[:, dy : dy + h, dx : dx + w, :] @ kernel[dy, dx]
        return out
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))  # (N, H, W, C, 3, 3)
    columns = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * w, 9 * c)
    return (columns @ kernel.reshape(9 * c, -1)).reshape(n, h, w, -1)


def _max_pool(x: np.ndarray) -> np.ndarray:
    """2x2 max pooling, stride 2, 'valid' (an odd last row or column is dropped, as Keras does)."""
    n, h, w, c = x.shape
    x = x[:, : h // 2 * 2, : w // 2 * 2]
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
