import torch.nn as nn

CFG = [32, "M", 64, "M", 128, "M", 256]  # VGG-style: channels, "M" for a 2x2 max pool


def make_layers(cfg, batch_norm):
    layers, channels = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        channels = v
    return nn.Sequential(*layers)


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.features = make_layers(CFG, use_batchnorm)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Sequential(nn.Dropout(p=dropout_rate), nn.Linear(256, 10)) if use_dropout \
            else nn.Linear(256, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if init_mode == "zeros":
                    nn.init.zeros_(m.weight)
                else:
                    nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))
