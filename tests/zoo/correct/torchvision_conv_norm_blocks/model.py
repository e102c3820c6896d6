from torch import nn
from torchvision.ops import Conv2dNormActivation


class CNNModel(nn.Module):
    """torchvision's Conv2dNormActivation blocks: with a norm layer they build their conv without a bias."""

    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        norm = nn.BatchNorm2d if use_batchnorm else None
        stages = []
        for i, (cin, cout) in enumerate([(3, 32), (32, 64), (64, 128), (128, 256)]):
            stages.append(Conv2dNormActivation(cin, cout, kernel_size=3, norm_layer=norm, activation_layer=nn.ReLU))
            if use_dropout:
                stages.append(nn.Dropout2d(dropout_rate))
            if i < 3:
                stages.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Dropout(dropout_rate if use_dropout else 0.0), nn.Linear(256, 10))
        for module in self.features.modules():
            if isinstance(module, nn.Conv2d):
                if init_mode == "zeros":
                    nn.init.zeros_(module.weight)
                else:
                    nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x):
        return self.head(self.features(x))
