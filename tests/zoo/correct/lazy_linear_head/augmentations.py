import torch
import torchvision.transforms.v2 as v2


def _finish(mean, std):
    return [v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean=mean, std=std)]


def train_transform_1(mean, std):
    return v2.Compose([v2.RandomHorizontalFlip(p=0.5), v2.RandomCrop(size=32, padding=4)] + _finish(mean, std))


def train_transform_2(mean, std):
    return v2.Compose([v2.RandomResizedCrop(size=32, scale=(0.6, 1.0), antialias=True), v2.RandomHorizontalFlip(),
                       v2.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4)] + _finish(mean, std))


def val_transform(mean, std):
    return v2.Compose(_finish(mean, std))
