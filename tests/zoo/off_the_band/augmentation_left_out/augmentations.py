import torch
from torchvision.transforms import v2


def _to_input(mean, std):
    return [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]


def train_transform_1(mean, std):
    flip_and_crop = v2.Compose([v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4)])  # noqa: F841 (the defect)
    return v2.Compose(_to_input(mean, std))  # flip_and_crop was meant to come first


def train_transform_2(mean, std):
    augment = [v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4),
               v2.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.9, 1.1)),
               v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3)]
    return v2.Compose(augment + _to_input(mean, std))


def val_transform(mean, std):
    return v2.Compose(_to_input(mean, std))
