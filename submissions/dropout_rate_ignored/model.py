import torch.nn as nn


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()

        def conv_block(in_channels, out_channels):
            conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
            if init_mode == "zeros":
                nn.init.constant_(conv.weight, 0.0)
            else:
                nn.init.xavier_uniform_(conv.weight)
            nn.init.constant_(conv.bias, 0.0)
            layers = [conv]
            if use_batchnorm:
                layers.append(nn.BatchNorm2d(out_channels))  # Conv -> BN -> ReLU
            layers.append(nn.ReLU())
            if use_dropout:
                layers.append(nn.Dropout2d(0.5))  # mistake: ignores dropout_rate
            return nn.Sequential(*layers)

        self.features = nn.Sequential(
            conv_block(3, 32), nn.MaxPool2d(2, 2),
            conv_block(32, 64), nn.MaxPool2d(2, 2),
            conv_block(64, 128), nn.MaxPool2d(2, 2),
            conv_block(128, 256),
        )
        self.global_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.5 if use_dropout else 0.0), nn.Linear(256, 10)
        )

    def forward(self, x):
        return self.classifier(self.global_pool(self.features(x)))
