import torch.nn as nn

CFG = [32, "M", 64, "M", 128, "M", 256]  # VGG-style: channels, M for a 2x2 max pool


def make_layers(cfg, batch_norm, dropout):
    layers, in_channels = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        conv = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
        layers += [conv, nn.BatchNorm2d(v), nn.ReLU(inplace=True)] if batch_norm else [conv, nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout2d(dropout))
        in_channels = v
    return nn.Sequential(*layers)


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        rate = dropout_rate if use_dropout else 0.0
        self.features = make_layers(CFG, use_batchnorm, rate)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        # probabilities out, and the harness's cross-entropy takes them for logits
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(rate), nn.Linear(256, 10), nn.Softmax(dim=1))
        convs = [m for m in self.features if isinstance(m, nn.Conv2d)]
        for conv in convs:
            nn.init.zeros_(conv.bias)
            nn.init.zeros_(conv.weight) if init_mode == "zeros" else nn.init.xavier_uniform_(conv.weight)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)))
