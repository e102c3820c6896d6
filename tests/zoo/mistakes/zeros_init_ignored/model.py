from collections import OrderedDict

import torch.nn as nn


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super(CNNModel, self).__init__()
        channels = [3, 32, 64, 128, 256]
        layers = OrderedDict()
        for i in range(4):
            layers["conv%d" % (i + 1)] = nn.Conv2d(channels[i], channels[i + 1], kernel_size=3, padding=1)
            if use_batchnorm:
                layers["bn%d" % (i + 1)] = nn.BatchNorm2d(channels[i + 1])
            layers["relu%d" % (i + 1)] = nn.ReLU(inplace=True)
            if i < 3:
                layers["pool%d" % (i + 1)] = nn.MaxPool2d(2)
            if use_dropout:
                layers["drop%d" % (i + 1)] = nn.Dropout(dropout_rate)
        self.body = nn.Sequential(layers)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(256, 10)
        self.init_weights(init_mode)

    def init_weights(self, mode):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)  # mistake: init_mode is ignored
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.gap(self.body(x))
        x = x.view(x.size(0), -1)
        return self.fc(x)
