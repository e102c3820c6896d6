import torch
import torchvision.transforms.v2 as transforms

TO_INPUT = [transforms.ToImage(), transforms.ToDtype(torch.float32, scale=True)]


def train_transform_1(mean, std):
    return transforms.Compose([*TO_INPUT, transforms.RandomHorizontalFlip(), transforms.RandomCrop(32, padding=4),
                               transforms.Normalize(mean, std)])


def train_transform_2(mean, std):
    return transforms.Compose([*TO_INPUT, transforms.RandomHorizontalFlip(), transforms.RandomCrop(32, padding=4),
                               transforms.RandomRotation(15), transforms.Normalize(mean, std),
                               transforms.RandomErasing(0.25)])


def val_transform(mean, std):
    return transforms.Compose([*TO_INPUT, transforms.Normalize(mean, std)])
