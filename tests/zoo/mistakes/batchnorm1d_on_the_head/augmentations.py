import torch
from torchvision.transforms import v2


def _tensor(mean, std):
    return [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]


def train_transform_1(mean, std):
    return v2.Compose([v2.RandomCrop(32, padding=4, padding_mode="reflect"), v2.RandomHorizontalFlip()]
                      + _tensor(mean, std))


def train_transform_2(mean, std):
    return v2.Compose([v2.RandomCrop(32, padding=4, padding_mode="reflect"), v2.RandomHorizontalFlip(),
                       v2.TrivialAugmentWide()] + _tensor(mean, std))


def val_transform(mean, std):
    return v2.Compose(_tensor(mean, std))
