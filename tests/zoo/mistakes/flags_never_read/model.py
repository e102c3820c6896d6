import torch.nn as nn
import torch.nn.functional as F


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.use_dropout = use_dropout  # kept, never read: the batch norms and dropouts below always run
        self.use_batchnorm = use_batchnorm
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1)
        self.conv4 = nn.Conv2d(128, 256, 3, padding=1)
        self.norm1, self.norm2 = nn.BatchNorm2d(32), nn.BatchNorm2d(64)
        self.norm3, self.norm4 = nn.BatchNorm2d(128), nn.BatchNorm2d(256)
        self.spatial_dropout = nn.Dropout2d(dropout_rate)
        self.dropout = nn.Dropout(dropout_rate)
        self.fc = nn.Linear(256, 10)
        for name, module in self.named_modules():
            if name.startswith("conv"):
                if init_mode == "zeros":
                    module.weight.data.fill_(0)
                else:
                    nn.init.xavier_uniform_(module.weight)
                module.bias.data.fill_(0)

    def stage(self, x, k):
        x = getattr(self, f"norm{k}")(getattr(self, f"conv{k}")(x))
        return self.spatial_dropout(F.relu(x))

    def forward(self, x):
        for k in (1, 2, 3):
            x = F.max_pool2d(self.stage(x, k), 2)
        x = F.adaptive_avg_pool2d(self.stage(x, 4), 1).flatten(1)
        return self.fc(self.dropout(x))
