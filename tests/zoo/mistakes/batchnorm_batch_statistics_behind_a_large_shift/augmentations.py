import torch
from torchvision.transforms import v2


def _to_tensor(mean, std):
    return [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]


def train_transform_1(mean, std):
    return v2.Compose([v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4)] + _to_tensor(mean, std))


def train_transform_2(mean, std):
    return v2.Compose([v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4), v2.RandomRotation(15),
                       v2.ColorJitter(0.3, 0.3, 0.3)] + _to_tensor(mean, std))


def val_transform(mean, std):
    return v2.Compose(_to_tensor(mean, std))
