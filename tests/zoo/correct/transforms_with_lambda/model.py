import torch.nn as nn


def conv_bn_relu(cin, cout, bn):
    return [nn.Conv2d(cin, cout, 3, padding=1)] + ([nn.BatchNorm2d(cout)] if bn else []) + [nn.ReLU()]


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        layers = []
        layers += conv_bn_relu(3, 32, use_batchnorm) + [nn.MaxPool2d(2, 2)]
        layers += conv_bn_relu(32, 64, use_batchnorm) + [nn.MaxPool2d(2, 2)]
        layers += conv_bn_relu(64, 128, use_batchnorm) + [nn.MaxPool2d(2, 2)]
        layers += conv_bn_relu(128, 256, use_batchnorm)
        if use_dropout:
            layers.append(nn.Dropout2d(dropout_rate))
        self.model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 10))
        for m in self.model:
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight) if init_mode != "zeros" else nn.init.zeros_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.model(x)
