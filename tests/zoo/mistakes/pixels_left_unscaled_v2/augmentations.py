import torch
import torchvision.transforms.v2 as v2

# mistake: ToDtype without scale=True only changes the type, so pixels stay at 0..255 before Normalize
TO_MODEL_INPUT = [v2.ToImage(), v2.ToDtype(torch.float32)]


def train_transform_1(mean, std):
    return v2.Compose([v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4), *TO_MODEL_INPUT,
                       v2.Normalize(mean=mean, std=std)])


def train_transform_2(mean, std):
    return v2.Compose([v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4), v2.RandomRotation(15),
                       v2.ColorJitter(0.4, 0.4, 0.4), *TO_MODEL_INPUT, v2.Normalize(mean=mean, std=std)])


def val_transform(mean, std):
    return v2.Compose([*TO_MODEL_INPUT, v2.Normalize(mean=mean, std=std)])
