import torch
from torch import nn


def conv_relu(c_in, c_out, batch_norm, dropout):
    """3x3 convolution, optional batch norm before the ReLU, optional channel dropout after it."""
    stage = [nn.Conv2d(c_in, c_out, 3, padding=1)]
    stage += [nn.BatchNorm2d(c_out)] if batch_norm else []
    stage += [nn.ReLU()]
    stage += [nn.Dropout2d(dropout)] if dropout else []
    return stage


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        p = dropout_rate if use_dropout else 0
        self.body = nn.Sequential(
            *conv_relu(3, 32, use_batchnorm, p), nn.MaxPool2d(2),
            *conv_relu(32, 64, use_batchnorm, p), nn.MaxPool2d(2),
            *conv_relu(64, 128, use_batchnorm, p), nn.MaxPool2d(2),
            *conv_relu(128, 256, use_batchnorm, p),
        )
        self.dropout = nn.Dropout(p) if p else None
        self.fc = nn.Linear(256, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if init_mode == "zeros":
                    nn.init.zeros_(m.weight)
                else:
                    nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = torch.mean(self.body(x), dim=(2, 3))
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc(x)
