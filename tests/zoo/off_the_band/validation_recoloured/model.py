import torch.nn as nn


class CNNModel(nn.Module):
    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.order = []
        self.layers = nn.ModuleDict()
        cin = 3
        for n, cout in enumerate([32, 64, 128, 256], start=1):
            self._add(f"conv{n}", nn.Conv2d(cin, cout, kernel_size=(3, 3), padding=(1, 1)))
            if use_batchnorm:
                self._add(f"bn{n}", nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1))
            self._add(f"act{n}", nn.ReLU())
            if n < 4:
                self._add(f"pool{n}", nn.MaxPool2d(2))
            cin = cout
        self._add("gap", nn.AdaptiveAvgPool2d(1))
        self._add("flat", nn.Flatten())
        if use_dropout:
            self._add("drop", nn.Dropout(dropout_rate))
        self._add("fc", nn.Linear(256, 10))
        for name, layer in self.layers.items():
            if name.startswith("conv"):
                nn.init.zeros_(layer.weight) if init_mode == "zeros" else nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)

    def _add(self, name, layer):
        self.layers[name] = layer
        self.order.append(name)

    def forward(self, x):
        for name in self.order:
            x = self.layers[name](x)
        return x
