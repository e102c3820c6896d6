import torch.nn as nn
import torch.nn.functional as F


class ConvUnit(nn.Module):
    """conv -> (batch norm) -> relu -> (dropout)"""

    def __init__(self, cin, cout, batchnorm, p, zero_init):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=3, padding=1)
        self.bn = nn.BatchNorm2d(cout) if batchnorm else None
        self.p = p
        if zero_init:
            nn.init.zeros_(self.conv.weight)
        else:
            nn.init.xavier_uniform_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        x = F.relu(x)
        if self.p > 0:
            x = F.dropout2d(x, self.p, training=True)  # mistake: always on, even in eval
        return x


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        p = dropout_rate if use_dropout else 0.0
        zero = init_mode == "zeros"
        self.unit1 = ConvUnit(3, 32, use_batchnorm, p, zero)
        self.unit2 = ConvUnit(32, 64, use_batchnorm, p, zero)
        self.unit3 = ConvUnit(64, 128, use_batchnorm, p, zero)
        self.unit4 = ConvUnit(128, 256, use_batchnorm, p, zero)
        self.pool = nn.MaxPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.out = nn.Linear(256, 10)
        self.p = p

    def forward(self, x):
        x = self.pool(self.unit1(x))
        x = self.pool(self.unit2(x))
        x = self.pool(self.unit3(x))
        x = self.gap(self.unit4(x)).flatten(1)
        if self.p > 0:
            x = F.dropout(x, self.p, self.training)
        return self.out(x)
