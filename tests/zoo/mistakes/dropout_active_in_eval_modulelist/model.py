import torch.nn as nn
import torch.nn.functional as F


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.layers = nn.ModuleList()
        for cin, cout in [(3, 32), (32, 64), (64, 128), (128, 256)]:
            self.layers.append(nn.Conv2d(cin, cout, 3, padding=1))
            self.layers.append(nn.BatchNorm2d(cout) if use_batchnorm else nn.Identity())
        self.use_dropout, self.p = use_dropout, dropout_rate
        self.fc = nn.Linear(256, 10)
        for layer in self.layers:
            if isinstance(layer, nn.Conv2d):
                nn.init.zeros_(layer.weight) if init_mode == "zeros" else nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, x):
        for i in range(0, len(self.layers), 2):
            x = F.relu(self.layers[i + 1](self.layers[i](x)))
            if i < 6:
                x = F.max_pool2d(x, 2)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        if self.use_dropout:
            x = F.dropout(x, self.p)  # mistake: F.dropout's training defaults to True, also in eval mode
        return self.fc(x)
