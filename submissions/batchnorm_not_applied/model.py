import torch
import torch.nn as nn


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1)
        self.conv4 = nn.Conv2d(128, 256, 3, padding=1)
        if use_batchnorm:
            # mistake: built (print(model) lists them) but forward never calls them
            self.bn1, self.bn2 = nn.BatchNorm2d(32), nn.BatchNorm2d(64)
            self.bn3, self.bn4 = nn.BatchNorm2d(128), nn.BatchNorm2d(256)
        self.drop1 = nn.Dropout2d(dropout_rate) if use_dropout else nn.Identity()
        self.drop2 = nn.Dropout2d(dropout_rate) if use_dropout else nn.Identity()
        self.drop3 = nn.Dropout2d(dropout_rate) if use_dropout else nn.Identity()
        self.drop4 = nn.Dropout2d(dropout_rate) if use_dropout else nn.Identity()
        self.drop_fc = nn.Dropout(dropout_rate) if use_dropout else nn.Identity()
        self.linear = nn.Linear(256, 10)
        with torch.no_grad():
            for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
                if init_mode == "zeros":
                    conv.weight.zero_()
                else:
                    nn.init.xavier_uniform_(conv.weight)
                conv.bias.zero_()

    def forward(self, x):
        x = torch.max_pool2d(self.drop1(torch.relu(self.conv1(x))), 2)
        x = torch.max_pool2d(self.drop2(torch.relu(self.conv2(x))), 2)
        x = torch.max_pool2d(self.drop3(torch.relu(self.conv3(x))), 2)
        x = self.drop4(torch.relu(self.conv4(x)))
        x = x.view(x.size(0), x.size(1), -1).mean(-1)
        return self.linear(self.drop_fc(x))
