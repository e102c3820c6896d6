import torch.nn as nn


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1)
        self.conv4 = nn.Conv2d(128, 256, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32) if use_batchnorm else nn.Identity()
        self.bn2 = nn.BatchNorm2d(64) if use_batchnorm else nn.Identity()
        self.bn3 = nn.BatchNorm2d(128) if use_batchnorm else nn.Identity()
        self.bn4 = nn.BatchNorm2d(256) if use_batchnorm else nn.Identity()
        self.drop = nn.Dropout(dropout_rate) if use_dropout else nn.Identity()
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2, 2)
        self.gap = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(256, 10)
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            if init_mode == "zeros":
                conv.weight.data.zero_()
            else:
                nn.init.xavier_uniform_(conv.weight)
            conv.bias.data.zero_()

    def forward(self, x):
        x = self.pool(self.relu(self.bn1(self.conv1(x))))
        x = self.pool(self.relu(self.bn2(self.conv2(x))))
        x = self.pool(self.relu(self.bn3(self.conv3(x))))
        x = self.relu(self.bn4(self.conv4(x)))
        x = self.gap(x).flatten(1)
        x = self.drop(x)
        return self.fc(x)
