from torch import nn


def stage(cin, cout, *, bn, p, pool):
    parts = [nn.Conv2d(cin, cout, 3, padding=1)]
    parts += [nn.BatchNorm2d(cout)] if bn else []
    parts += [nn.ReLU()]
    parts += [nn.Dropout2d(p)] if p else []
    parts += [nn.MaxPool2d(2)] if pool else []
    return nn.Sequential(*parts)


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        p = dropout_rate if use_dropout else 0
        self.net = nn.Sequential(
            stage(3, 32, bn=use_batchnorm, p=p, pool=True),
            stage(32, 64, bn=use_batchnorm, p=p, pool=True),
            stage(64, 128, bn=use_batchnorm, p=p, pool=True),
            stage(128, 256, bn=use_batchnorm, p=p, pool=False),
            nn.AdaptiveAvgPool2d(1),
        )
        self.fc = nn.Linear(256, 10)
        init = nn.init.zeros_ if init_mode == "zeros" else nn.init.xavier_uniform_
        for m in self.net.modules():
            if isinstance(m, nn.Conv2d):
                init(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.fc(self.net(x).flatten(1))
