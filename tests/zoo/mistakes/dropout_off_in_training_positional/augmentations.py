import torch
from torchvision.transforms import v2

TO_FLOAT = [v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True)]


def train_transform_1(mean, std):
    return v2.Compose([v2.RandomHorizontalFlip(0.5), v2.RandomCrop(32, 4), *TO_FLOAT, v2.Normalize(mean, std)])


def train_transform_2(mean, std):
    return v2.Compose([v2.RandomHorizontalFlip(0.5), v2.RandomCrop(32, 4), v2.RandomRotation(15),
                       v2.ColorJitter(0.4, 0.4, 0.4, 0.1), *TO_FLOAT, v2.Normalize(mean, std)])


def val_transform(mean, std):
    return v2.Compose([*TO_FLOAT, v2.Normalize(mean, std)])
