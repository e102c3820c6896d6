import torch.nn as nn
import torch.nn.functional as F


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.use_batchnorm, self.use_dropout = use_batchnorm, use_dropout
        self.c1 = nn.Conv2d(3, 32, 3, padding=1)
        self.c2 = nn.Conv2d(32, 64, 3, padding=1)
        self.c3 = nn.Conv2d(64, 128, 3, padding=1)
        self.c4 = nn.Conv2d(128, 256, 3, padding=1)
        if use_batchnorm:
            self.n1, self.n2, self.n3, self.n4 = (nn.BatchNorm2d(c) for c in (32, 64, 128, 256))
        self.dropout = nn.Dropout(p=dropout_rate)
        self.linear = nn.Linear(256, 10)
        for c in (self.c1, self.c2, self.c3, self.c4):
            if init_mode == "zeros":
                nn.init.zeros_(c.weight)
            else:
                nn.init.xavier_uniform_(c.weight)
            nn.init.zeros_(c.bias)

    def _stage(self, conv, norm_name, x, pool=True):
        x = F.relu(conv(x))
        if self.use_batchnorm:
            x = getattr(self, norm_name)(x)  # Conv -> ReLU -> BN
        return F.max_pool2d(x, 2) if pool else x

    def forward(self, x):
        x = self._stage(self.c1, "n1", x)
        x = self._stage(self.c2, "n2", x)
        x = self._stage(self.c3, "n3", x)
        x = self._stage(self.c4, "n4", x, pool=False)
        x = F.adaptive_avg_pool2d(x, 1).view(-1, 256)
        if self.use_dropout:
            x = self.dropout(x)
        return self.linear(x)
