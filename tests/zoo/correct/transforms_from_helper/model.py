import torch
import torch.nn as nn


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        blocks = []
        for i, (cin, cout) in enumerate(zip([3, 32, 64, 128], [32, 64, 128, 256])):
            blocks.append(nn.Conv2d(cin, cout, 3, padding=1))
            blocks.append(nn.BatchNorm2d(cout) if use_batchnorm else nn.Identity())
            blocks.append(nn.ReLU())
            blocks.append(nn.MaxPool2d(2) if i < 3 else nn.Identity())
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Dropout(p=dropout_rate if use_dropout else 0.0),
            nn.Linear(256, 10),
        )
        for module in self.features:
            if isinstance(module, nn.Conv2d):
                if init_mode == "zeros":
                    torch.nn.init.zeros_(module.weight)
                else:
                    torch.nn.init.xavier_uniform_(module.weight)
                torch.nn.init.zeros_(module.bias)

    def forward(self, x):
        return self.classifier(self.features(x))
