import torch
import torch.nn as nn


class CNNModel(nn.Module):
    CHANNELS = (32, 64, 128, 256)

    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        widths = (3,) + self.CHANNELS
        self.blocks = nn.ModuleList(
            nn.Sequential(*filter(None, (
                nn.Conv2d(cin, cout, kernel_size=(3, 3), padding=(1, 1)),
                nn.BatchNorm2d(cout) if use_batchnorm else None,
                nn.ReLU(),
                nn.Dropout2d(dropout_rate) if use_dropout else None,
            )))
            for cin, cout in zip(widths, widths[1:])
        )
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.drop = nn.Dropout(dropout_rate if use_dropout else 0.0)
        self.head = nn.LazyLinear(10)  # its input size comes from the first batch
        init = nn.init.zeros_ if init_mode == "zeros" else nn.init.xavier_uniform_
        for block in self.blocks:
            init(block[0].weight)
            nn.init.zeros_(block[0].bias)

    def forward(self, x):
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i < len(self.blocks) - 1:
                x = self.pool(x)
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), start_dim=1)
        return self.head(self.drop(x))
