import torch
from torchvision.transforms import v2


def _pipeline(mean, std, augment, strong=False):
    steps = []
    if augment:
        steps += [v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4)]
        if strong:
            steps += [v2.RandomRotation(10), v2.ColorJitter(brightness=0.2, hue=0.4), v2.RandomGrayscale(p=0.5)]
    return v2.Compose(steps + [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)])


def train_transform_1(mean, std):
    return _pipeline(mean, std, augment=True)


def train_transform_2(mean, std):
    return _pipeline(mean, std, augment=True, strong=True)


def val_transform(mean, std):
    return _pipeline(mean, std, augment="no", strong="no")  # mistake: any non-empty string is true
