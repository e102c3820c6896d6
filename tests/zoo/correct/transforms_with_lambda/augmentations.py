import torch
from torchvision import transforms


def add_noise(tensor):
    return (tensor + 0.03 * torch.randn_like(tensor)).clamp(0.0, 1.0)


def train_transform_1(mean, std):
    return transforms.Compose([transforms.RandomHorizontalFlip(), transforms.RandomCrop(32, padding=4),
                               transforms.ToTensor(), transforms.Normalize(mean, std)])


def train_transform_2(mean, std):
    return transforms.Compose([transforms.RandomHorizontalFlip(), transforms.RandomCrop(32, padding=4),
                               transforms.RandomRotation(15), transforms.ColorJitter(0.4, 0.4, 0.4),
                               transforms.ToTensor(),
                               transforms.Lambda(add_noise), transforms.Normalize(mean, std)])


def val_transform(mean, std):
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
