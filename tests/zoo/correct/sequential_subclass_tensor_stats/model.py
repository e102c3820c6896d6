import torch
from torch import nn


class CNNModel(nn.Sequential):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        layers = []
        channels = [3, 32, 64, 128, 256]
        for i in range(4):
            layers.append(nn.Conv2d(channels[i], channels[i + 1], 3, 1, 1))
            if use_batchnorm:
                layers.append(nn.BatchNorm2d(channels[i + 1], momentum=None))  # a cumulative average
            layers.append(nn.ReLU(True))
            if use_dropout:
                layers.append(nn.Dropout2d(dropout_rate))
            if i < 3:
                layers.append(nn.MaxPool2d(2))
        layers += [nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(1)]
        if use_dropout:
            layers.append(nn.Dropout(dropout_rate))
        layers.append(nn.Linear(256, 10))
        super().__init__(*layers)
        self.init_mode = init_mode
        self.apply(self._init)

    def _init(self, m):
        if type(m) == nn.Conv2d:
            if self.init_mode == "zeros":
                m.weight.data.zero_()
            else:
                torch.nn.init.xavier_uniform_(m.weight.data)
            m.bias.data.fill_(0.0)
