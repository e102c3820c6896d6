import torch
import torch.nn as nn
import torch.nn.functional as F


class CNNModel(nn.Module):

    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode='xavier_uniform'):
        super(CNNModel, self).__init__()
        self.use_dropout = use_dropout
        self.rate = dropout_rate
        self.conv_layers = nn.ModuleList([
            nn.Conv2d(3, 32, 3, 1, 'same'),
            nn.Conv2d(32, 64, 3, 1, 'same'),
            nn.Conv2d(64, 128, 3, 1, 'same'),
            nn.Conv2d(128, 256, 3, 1, 'same'),
        ])
        self.bn_layers = nn.ModuleList([nn.BatchNorm2d(c.out_channels) if use_batchnorm else nn.Identity()
                                        for c in self.conv_layers])
        self.fc = nn.Linear(256, 10)
        for conv in self.conv_layers:
            if init_mode == 'zeros':
                nn.init.constant_(conv.weight, 0.)
                nn.init.constant_(conv.bias, 0.)
            elif init_mode == 'xavier_uniform':
                nn.init.xavier_uniform_(conv.weight)
                nn.init.constant_(conv.bias, 0.)
            else:
                raise ValueError(init_mode)

    def forward(self, x):
        n = len(self.conv_layers)
        for i, (conv, bn) in enumerate(zip(self.conv_layers, self.bn_layers)):
            x = F.relu(bn(conv(x)))
            if i < n - 1:
                x = F.max_pool2d(x, kernel_size=2, stride=2)
        x = torch.flatten(F.adaptive_avg_pool2d(x, output_size=1), 1)
        x = F.dropout(x, p=self.rate, training=self.training and self.use_dropout)
        return self.fc(x)
