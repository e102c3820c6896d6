import torch.nn as nn


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.net = nn.Sequential()
        for n, (c_in, c_out) in enumerate(zip([3, 32, 64, 128], [32, 64, 128, 256])):
            conv = nn.Conv2d(c_in, c_out, 3, padding=1)
            if init_mode == "zeros":
                nn.init.constant_(conv.weight, 0.0)
            else:
                nn.init.xavier_uniform_(conv.weight, gain=1.0)
            nn.init.constant_(conv.bias, 0.0)
            self.net.append(conv)
            if use_batchnorm:
                self.net.append(nn.BatchNorm2d(c_out))
            self.net.append(nn.ReLU())
            if use_dropout:
                self.net.append(nn.Dropout2d(dropout_rate))
            if n < 3:
                self.net.append(nn.MaxPool2d(2))
        self.net.append(nn.AdaptiveAvgPool2d(1))
        self.net.append(nn.Flatten())
        if use_dropout:
            self.net.append(nn.Dropout2d(dropout_rate))  # on the flat features: drops single units, like nn.Dropout
        self.net.append(nn.Linear(256, 10))

    def forward(self, x):
        return self.net(x)
