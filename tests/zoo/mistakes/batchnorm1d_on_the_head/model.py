import torch
from torch import nn


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1)
        self.conv4 = nn.Conv2d(128, 256, 3, padding=1)
        convs = [self.conv1, self.conv2, self.conv3, self.conv4]
        self.bns = nn.ModuleList([nn.BatchNorm2d(c.out_channels) for c in convs]) if use_batchnorm else None
        # mistake: a batch norm on the pooled features too, where the manifest says batch norm follows the convs
        self.head_bn = nn.BatchNorm1d(256) if use_batchnorm else nn.Identity()
        self.dropout = nn.Dropout(dropout_rate) if use_dropout else nn.Identity()
        self.out = nn.Linear(256, 10)
        for c in convs:
            if init_mode == "zeros":
                nn.init.zeros_(c.weight)
            else:
                nn.init.xavier_uniform_(c.weight)
            nn.init.zeros_(c.bias)

    def forward(self, x):
        for i, conv in enumerate([self.conv1, self.conv2, self.conv3, self.conv4]):
            x = conv(x)
            if self.bns is not None:
                x = self.bns[i](x)
            x = torch.relu(x)
            if i < 3:
                x = nn.functional.max_pool2d(x, kernel_size=2)
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, (1, 1)), 1)
        return self.out(self.dropout(self.head_bn(x)))
