import torch
import torch.nn.functional as F
from torch import nn


class CNNModel(nn.Module):
    """Four conv stages; the last is pooled over the whole map by its largest value."""

    NAMES = ("stage1", "stage2", "stage3", "stage4")

    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.drop = dropout_rate if use_dropout else 0.0
        self.norm = use_batchnorm
        for name, (cin, cout) in zip(self.NAMES, [(3, 32), (32, 64), (64, 128), (128, 256)]):
            conv = nn.Conv2d(cin, cout, 3, padding=1)
            with torch.no_grad():
                if init_mode == "zeros":
                    conv.weight.zero_()
                else:
                    nn.init.xavier_uniform_(conv.weight)
                conv.bias.zero_()
            self.add_module(name, conv)
            if use_batchnorm:
                self.add_module(name + "_bn", nn.BatchNorm2d(cout))
        self.out = nn.Linear(256, 10)

    def forward(self, x):
        for k, name in enumerate(self.NAMES):
            x = self.get_submodule(name)(x)
            if self.norm:
                x = self.get_submodule(name + "_bn")(x)
            x = F.dropout2d(F.relu(x), self.drop, self.training)
            if k < 3:
                x = F.max_pool2d(x, 2)
        x = F.adaptive_max_pool2d(x, 1).squeeze(-1).squeeze(-1)
        return self.out(F.dropout(x, self.drop, self.training))
