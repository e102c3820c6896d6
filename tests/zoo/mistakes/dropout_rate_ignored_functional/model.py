import torch
import torch.nn as nn
import torch.nn.functional as F


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(i, o, 3, padding=1) for i, o in [(3, 32), (32, 64), (64, 128), (128, 256)]])
        self.bns = nn.ModuleList([nn.BatchNorm2d(c) for c in (32, 64, 128, 256)]) if use_batchnorm else None
        self.use_dropout = use_dropout
        self.fc = nn.Linear(256, 10)
        for conv in self.convs:
            (nn.init.zeros_ if init_mode == "zeros" else nn.init.xavier_uniform_)(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, x):
        for k, conv in enumerate(self.convs):
            x = conv(x)
            if self.bns is not None:
                x = self.bns[k](x)
            x = F.relu(x)
            if self.use_dropout:
                x = F.dropout2d(x, 0.5, self.training)  # mistake: the rate is hard-coded
            if k < 3:
                x = F.max_pool2d(x, 2)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
