import torch
from torchvision.transforms import v2 as T


def train_transform_1(mean, std):
    return T.Compose([T.ToImage(), T.RandomHorizontalFlip(), T.ToDtype(torch.float32, scale=True), T.Normalize(mean, std)])


def train_transform_2(mean, std):
    return T.Compose([T.ToImage(), T.RandomHorizontalFlip(), T.RandomResizedCrop(32, scale=(0.7, 1.0), antialias=True),
                      T.RandomRotation(10), T.ColorJitter(0.2, 0.2, 0.2, 0.05), T.ToDtype(torch.float32, scale=True),
                      T.Normalize(mean, std)])


def val_transform(mean, std):
    return T.Compose([T.ToImage(), T.ToDtype(torch.float32, scale=True), T.Normalize(mean, std)])
