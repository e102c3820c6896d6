import torch
import torch.nn as nn
import torch.nn.functional as F


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, 1, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1, 1)
        self.conv3 = nn.Conv2d(64, 128, 3, 1, 1)
        self.conv4 = nn.Conv2d(128, 256, 3, 1, 1)
        self.norms = nn.ModuleList(nn.BatchNorm2d(c) for c in (32, 64, 128, 256)) if use_batchnorm else None
        self.drop2d = nn.Dropout2d(dropout_rate) if use_dropout else nn.Identity()
        self.fc = nn.Linear(256, 10)
        with torch.no_grad():
            for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
                if init_mode == "zeros":
                    conv.weight.fill_(0.0)
                else:
                    nn.init.xavier_uniform_(conv.weight)
                conv.bias.fill_(0.0)

    def norm(self, i, x):
        return self.norms[i](x) if self.norms is not None else x

    def forward(self, x):
        x = torch.relu(self.norm(0, self.conv1(x)))
        x = F.max_pool2d(self.drop2d(x), 2)
        x = self.norm(1, self.conv2(x)).relu_()
        x = F.max_pool2d(self.drop2d(x), 2)
        x = F.relu(self.norm(2, self.conv3(x)), inplace=True)
        x = F.max_pool2d(self.drop2d(x), 2)
        x = F.relu_(self.norm(3, self.conv4(x)))
        x = self.drop2d(x)
        x = F.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, start_dim=1))
