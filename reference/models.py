"""The notebook's models, unchanged in architecture and initialization."""

from __future__ import annotations

from torch import nn

from harness.registry import Registry


class SimpleMLP(nn.Module):
    """784-512-512-10 (or -1 for the binary task, as the notebook swaps the last layer)."""

    def __init__(self, outputs: int = 10) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, outputs)
        )

    def forward(self, x):
        return self.net(x)


class MLPWithDropout(nn.Module):
    def __init__(self, p: float = 0.3) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Dropout(p),
            nn.Linear(512, 512), nn.ReLU(), nn.Dropout(p),
            nn.Linear(512, 10),
        )

    def forward(self, x):
        return self.net(x)


def norm_mlp(norm: str | None = None) -> nn.Sequential:
    """Sigmoid MLP 784-100-100-100-10 with BatchNorm1d ('batch') or LayerNorm ('layer') after the
    first two Linear layers. The notebook calls the LayerNorm variant 'instance'."""
    if norm not in (None, "batch", "layer"):
        raise ValueError(f"norm must be None, 'batch' or 'layer', got {norm!r}")

    def normalization() -> list[nn.Module]:
        if norm == "batch":
            return [nn.BatchNorm1d(100)]
        return [nn.LayerNorm(100)] if norm == "layer" else []

    return nn.Sequential(
        nn.Linear(784, 100), *normalization(), nn.Sigmoid(),
        nn.Linear(100, 100), *normalization(), nn.Sigmoid(),
        nn.Linear(100, 100), nn.Sigmoid(),
        nn.Linear(100, 10),
    )


class Regressor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 100), nn.ReLU(), nn.Linear(100, 1))

    def forward(self, x):
        return self.net(x).squeeze(1)


class CNNModel(nn.Module):
    """The coursework's given CNN: four 3x3 conv blocks (32/64/128/256), MaxPool after the first
    three, global average pool, Dropout, Linear(256, 10). 390,986 parameters without BN."""

    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()

        def conv_block(in_channels, out_channels):
            conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
            if init_mode == "zeros":
                nn.init.constant_(conv.weight, 0.0)
            else:
                nn.init.xavier_uniform_(conv.weight)
            nn.init.constant_(conv.bias, 0.0)
            layers = [conv]
            if use_batchnorm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU())
            if use_dropout:
                layers.append(nn.Dropout2d(dropout_rate))
            return nn.Sequential(*layers)

        self.features = nn.Sequential(
            conv_block(3, 32), nn.MaxPool2d(2, 2, padding=0),
            conv_block(32, 64), nn.MaxPool2d(2, 2, padding=0),
            conv_block(64, 128), nn.MaxPool2d(2, 2, padding=0),
            conv_block(128, 256),
        )
        self.global_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout_rate if use_dropout else 0.0), nn.Linear(256, 10)
        )

    def forward(self, x):
        return self.classifier(self.global_pool(self.features(x)))


MODELS = Registry(
    "model",
    [
        ("simple_mlp", SimpleMLP),
        ("mlp_dropout", MLPWithDropout),
        ("norm_mlp", norm_mlp),
        ("regressor", Regressor),
        ("cnn", CNNModel),
    ],
)
