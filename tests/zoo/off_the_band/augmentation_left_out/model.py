import torch
import torch.nn as nn
import torch.nn.functional as F

WIDTHS = (3, 32, 64, 128, 256)


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.p = dropout_rate if use_dropout else 0.0
        for i in range(4):
            conv = nn.Conv2d(WIDTHS[i], WIDTHS[i + 1], 3, 1, 1)
            if init_mode == "zeros":
                nn.init.constant_(conv.weight, 0.0)
            else:
                nn.init.xavier_uniform_(conv.weight)
            nn.init.constant_(conv.bias, 0.0)
            setattr(self, f"conv{i}", conv)
            setattr(self, f"norm{i}", nn.BatchNorm2d(WIDTHS[i + 1]) if use_batchnorm else nn.Identity())
        self.classifier = nn.Linear(WIDTHS[-1], 10)

    def forward(self, x):
        for i in range(4):
            x = F.relu(getattr(self, f"norm{i}")(getattr(self, f"conv{i}")(x)))
            if i < 3:
                x = F.max_pool2d(x, kernel_size=2)
            if i in (1, 2):
                x = F.dropout2d(x, self.p, self.training)
        x = torch.mean(x, dim=(2, 3))
        return self.classifier(F.dropout(x, self.p, self.training))
