import torch
from torchvision.transforms import v2 as tv


def train_transform_1(mean, std):
    return tv.Compose([tv.ToImage(), tv.RandomHorizontalFlip(), tv.RandomCrop(32, padding=4, padding_mode="reflect"),
                       tv.ToDtype(torch.float32, scale=True), tv.Normalize(mean, std)])


def train_transform_2(mean, std):
    return tv.Compose([tv.ToImage(), tv.RandomHorizontalFlip(), tv.RandomResizedCrop(32, scale=(0.5, 1.0)),
                       tv.RandomGrayscale(0.2), tv.ToDtype(torch.float32, scale=True), tv.Normalize(mean, std)])


def val_transform(mean, std):
    return tv.Compose([tv.ToImage(), tv.ToDtype(torch.float32, scale=True), tv.Normalize(mean, std)])
