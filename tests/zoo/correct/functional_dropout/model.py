from torch import nn
from torch.nn import functional as F


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.use_dropout = use_dropout
        self.dropout_rate = dropout_rate

        def block(cin, cout):
            layers = [nn.Conv2d(cin, cout, kernel_size=3, padding=1)]
            if use_batchnorm:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.ReLU())
            return nn.Sequential(*layers)

        self.b1, self.b2, self.b3, self.b4 = block(3, 32), block(32, 64), block(64, 128), block(128, 256)
        self.classifier = nn.Linear(256, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                (nn.init.zeros_ if init_mode == "zeros" else nn.init.xavier_uniform_)(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.max_pool2d(self.b1(x), 2)
        x = F.max_pool2d(self.b2(x), 2)
        x = F.max_pool2d(self.b3(x), 2)
        x = self.b4(x)
        x = F.adaptive_avg_pool2d(x, (1, 1)).squeeze(-1).squeeze(-1)
        if self.use_dropout:
            x = F.dropout(x, p=self.dropout_rate, training=self.training)
        return self.classifier(x)
