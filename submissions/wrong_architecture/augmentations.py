import torch
from torchvision.transforms import v2

TENSOR = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])


def train_transform_1(mean, std):
    return v2.Compose([v2.RandomCrop(32, padding=4), TENSOR, v2.Normalize(mean, std)])


def train_transform_2(mean, std):
    return v2.Compose([v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip(),
                       v2.AutoAugment(v2.AutoAugmentPolicy.CIFAR10), TENSOR, v2.Normalize(mean, std)])


def val_transform(mean, std):
    return v2.Compose([TENSOR, v2.Normalize(mean, std)])
