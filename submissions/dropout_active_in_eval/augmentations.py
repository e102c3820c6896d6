import torch
from torchvision.transforms import v2


def train_transform_1(mean, std):
    return v2.Compose([
        v2.ToImage(),
        v2.RandomHorizontalFlip(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=mean, std=std),
    ])


def train_transform_2(mean, std):
    return v2.Compose([
        v2.ToImage(),
        v2.RandomHorizontalFlip(),
        v2.RandomAffine(degrees=20, translate=(0.15, 0.15), scale=(0.8, 1.2), shear=8),
        v2.ColorJitter(brightness=0.4, contrast=0.4),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=mean, std=std),
    ])


def val_transform(mean, std):
    return v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean=mean, std=std)])
