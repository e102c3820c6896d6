import torch
from torchvision.transforms import v2

_END = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]


def train_transform_1(mean, std):
    return v2.Compose([v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4), *_END, v2.Normalize(mean, std)])


def train_transform_2(mean, std):
    return v2.Compose([v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4), v2.ColorJitter(0.4, 0.4, 0.4),
                       *_END, v2.Normalize(mean, std), v2.RandomErasing(p=0.25)])


def val_transform(mean, std):
    return v2.Compose([*_END, v2.Normalize(mean, std)])
