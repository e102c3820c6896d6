import torch.nn as nn


class ConvBlock(nn.Module):
    def __init__(self, cin, cout, bn, drop, p, pool):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=3, stride=1, padding=1)
        self.norm = nn.BatchNorm2d(cout) if bn else None
        self.act = nn.ReLU()
        self.drop = nn.Dropout2d(p) if drop else None
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2) if pool else None

    def forward(self, x):
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        x = self.act(x)
        if self.drop is not None:
            x = self.drop(x)
        if self.pool is not None:
            x = self.pool(x)
        return x


def _init(init_mode):
    def apply(module):
        if type(module) == nn.Conv2d:
            if init_mode == "zeros":
                nn.init.zeros_(module.weight)
            else:
                nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
    return apply


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.block1 = ConvBlock(3, 32, use_batchnorm, use_dropout, dropout_rate, pool=True)
        self.block2 = ConvBlock(32, 64, use_batchnorm, use_dropout, dropout_rate, pool=True)
        self.block3 = ConvBlock(64, 128, use_batchnorm, use_dropout, dropout_rate, pool=True)
        self.block4 = ConvBlock(128, 256, use_batchnorm, use_dropout, dropout_rate, pool=False)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout_rate) if use_dropout else nn.Identity(), nn.Linear(256, 10))
        self.apply(_init(init_mode))

    def forward(self, x):
        x = self.block4(self.block3(self.block2(self.block1(x))))
        return self.head(self.pool(x))
