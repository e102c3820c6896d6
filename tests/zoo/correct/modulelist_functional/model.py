import torch
import torch.nn as nn
import torch.nn.functional as F


class CNNModel(nn.Module):
    """Conv layers in a ModuleList; activations, pooling and dropout are functional."""

    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        sizes = [(3, 32), (32, 64), (64, 128), (128, 256)]
        self.convs = nn.ModuleList([nn.Conv2d(i, o, 3, padding=1) for i, o in sizes])
        self.bns = nn.ModuleList([nn.BatchNorm2d(o) for _, o in sizes]) if use_batchnorm else None
        self.use_dropout = use_dropout
        self.p = dropout_rate
        self.out = nn.Linear(256, 10)
        for conv in self.convs:
            if init_mode == "zeros":
                torch.nn.init.constant_(conv.weight, 0)
            else:
                torch.nn.init.xavier_uniform_(conv.weight)
            torch.nn.init.constant_(conv.bias, 0)

    def forward(self, x):
        for k, conv in enumerate(self.convs):
            x = conv(x)
            if self.bns is not None:
                x = self.bns[k](x)
            x = F.relu(x)
            if self.use_dropout:
                x = F.dropout2d(x, self.p, self.training)
            if k < 3:
                x = F.max_pool2d(x, 2)
        x = F.adaptive_avg_pool2d(x, 1)
        x = torch.flatten(x, 1)
        if self.use_dropout:
            x = F.dropout(x, self.p, self.training)
        return self.out(x)
