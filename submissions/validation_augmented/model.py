from collections import OrderedDict

import torch.nn as nn


def stage(name, cin, cout, batchnorm, dropout, rate):
    parts = [(name + "_conv", nn.Conv2d(cin, cout, kernel_size=(3, 3), stride=1, padding=1))]
    if batchnorm:
        parts.append((name + "_bn", nn.BatchNorm2d(cout)))
    parts.append((name + "_relu", nn.ReLU()))
    if dropout:
        parts.append((name + "_drop", nn.Dropout2d(p=rate)))
    return parts


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        sizes = [3, 32, 64, 128, 256]
        parts = []
        for i in range(4):
            parts += stage(f"block{i + 1}", sizes[i], sizes[i + 1], use_batchnorm, use_dropout, dropout_rate)
            if i < 3:
                parts.append((f"pool{i + 1}", nn.MaxPool2d(kernel_size=2)))
        parts += [("gap", nn.AdaptiveAvgPool2d(output_size=1)), ("flat", nn.Flatten())]
        if use_dropout:
            parts.append(("drop", nn.Dropout(p=dropout_rate)))
        parts.append(("fc", nn.Linear(256, 10)))
        self.layers = nn.Sequential(OrderedDict(parts))
        for module in self.layers:
            if isinstance(module, nn.Conv2d):
                (nn.init.zeros_ if init_mode == "zeros" else nn.init.xavier_uniform_)(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, images):
        return self.layers(images)
