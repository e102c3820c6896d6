from torch import nn

WIDTHS = (3, 32, 64, 128, 256)


class CNNModel(nn.Module):
    """Each stage: conv, [bn], relu, Dropout2d; the dropouts are built whatever use_dropout says."""

    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        stages = []
        for index, (cin, cout) in enumerate(zip(WIDTHS, WIDTHS[1:])):
            conv = nn.Conv2d(cin, cout, 3, 1, 1)
            weight_init = nn.init.zeros_ if init_mode == "zeros" else nn.init.xavier_uniform_
            weight_init(conv.weight)
            nn.init.zeros_(conv.bias)
            stage = [conv, nn.BatchNorm2d(cout)] if use_batchnorm else [conv]
            stage += [nn.ReLU(), nn.Dropout2d(dropout_rate)]
            if index < 3:
                stage.append(nn.MaxPool2d(2))
            stages.extend(stage)
        self.body = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout_rate), nn.Linear(256, 10))

    def forward(self, images):
        return self.head(self.body(images))
