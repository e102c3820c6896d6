import torch
import torch.nn.functional as F
from torch import nn


class CNNModel(nn.Module):
    channels = (3, 32, 64, 128, 256)

    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.use_batchnorm = use_batchnorm
        self.drop_p = dropout_rate if use_dropout else 0.0
        for i in range(1, 5):
            setattr(self, f"conv{i}", nn.Conv2d(self.channels[i - 1], self.channels[i], 3, padding=1))
            if use_batchnorm:
                setattr(self, f"bn{i}", nn.BatchNorm2d(self.channels[i]))
        self.head = nn.Linear(256, 10)
        for name, param in self.named_parameters():
            if not name.startswith("conv"):
                continue
            if name.endswith("bias") or init_mode == "zeros":
                nn.init.constant_(param, 0.0)
            else:
                nn.init.xavier_uniform_(param)

    def forward(self, x):
        for i in range(1, 5):
            x = getattr(self, f"conv{i}")(x)
            if self.use_batchnorm:
                x = getattr(self, f"bn{i}")(x)
            x = F.relu(x)
            if i < 4:
                x = F.max_pool2d(x, 2)
        x = torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)
        if self.drop_p:
            x = F.dropout(x, p=self.drop_p, training=self.training)
        return self.head(x)
