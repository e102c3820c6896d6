import torch
from torchvision.transforms import v2

TO_TENSOR = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]


def train_transform_1(mean, std):
    return v2.Compose([v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4), *TO_TENSOR, v2.Normalize(mean, std)])


def train_transform_2(mean, std):
    return v2.Compose([v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4), v2.ColorJitter(0.4, 0.4, 0.4),
                       v2.RandomRotation(15), *TO_TENSOR, v2.Normalize(mean, std)])


def val_transform(mean, std):
    return v2.Compose([v2.RandomHorizontalFlip(), *TO_TENSOR, v2.Normalize(mean, std)])  # mistake: a random flip
