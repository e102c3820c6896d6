from torch import nn


def conv_bn_relu(c_in, c_out, batchnorm):
    layers = [nn.Conv2d(c_in, c_out, kernel_size=3, stride=1, padding=1)]
    if batchnorm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.ReLU())
    return layers


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        widths = [3, 32, 64, 128, 256]
        self.blocks = nn.ModuleList()
        for k in range(4):
            layers = conv_bn_relu(widths[k], widths[k + 1], use_batchnorm)
            if k < 3:
                layers.append(nn.MaxPool2d(2, 2))
            if use_dropout:
                layers.append(nn.Dropout(dropout_rate))
            self.blocks.append(nn.Sequential(*layers))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(256, 10)
        self.reset_parameters(init_mode)

    def reset_parameters(self, init_mode):
        for m in self.modules():
            if type(m) is nn.Conv2d:
                (nn.init.zeros_ if init_mode == "zeros" else nn.init.xavier_uniform_)(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.classifier(self.pool(x).squeeze(-1).squeeze(-1))
