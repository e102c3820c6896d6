import torch
from torchvision.transforms import v2


class Strategies:
    """The three pipelines share their ending."""

    @staticmethod
    def ending(mean, std):
        return [v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]


def train_transform_1(mean, std):
    return v2.Compose([v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip(0.5), *Strategies.ending(mean, std)])


def train_transform_2(mean, std):
    return v2.Compose([v2.RandomResizedCrop(32, scale=(0.6, 1.0)), v2.RandomHorizontalFlip(0.5),
                       v2.RandomPhotometricDistort(p=0.5), *Strategies.ending(mean, std)])


def val_transform(mean, std):
    return v2.Compose(Strategies.ending(mean, std))
