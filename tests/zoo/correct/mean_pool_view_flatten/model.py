import torch.nn as nn


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super(CNNModel, self).__init__()
        cfg = [32, "M", 64, "M", 128, "M", 256]
        layers, cin = [], 3
        for v in cfg:
            if v == "M":
                layers += [nn.MaxPool2d(kernel_size=2)]
                continue
            conv = nn.Conv2d(cin, v, kernel_size=3, padding=1)
            layers += [conv, nn.BatchNorm2d(v), nn.ReLU(inplace=True)] if use_batchnorm else [conv, nn.ReLU(inplace=True)]
            cin = v
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout_rate) if use_dropout else None
        self.fc = nn.Linear(256, 10)
        for layer in self.features:
            if isinstance(layer, nn.Conv2d):
                if init_mode == "xavier_uniform":
                    nn.init.xavier_uniform_(layer.weight)
                elif init_mode == "zeros":
                    nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, x):
        x = self.features(x)
        x = x.mean([2, 3])  # global average pooling
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc(x.view(x.shape[0], -1))
