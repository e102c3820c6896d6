from torchvision import transforms

FLIP_AND_SHIFT = [transforms.RandomHorizontalFlip(), transforms.RandomCrop(32, padding=4, padding_mode="edge")]
HEAVIER = FLIP_AND_SHIFT + [transforms.RandomRotation(20), transforms.RandomGrayscale(0.2)]


def _pipeline(steps, mean, std):
    return transforms.Compose(list(steps) + [transforms.ToTensor(), transforms.Normalize(mean, std)])


def train_transform_1(mean, std):
    return _pipeline(FLIP_AND_SHIFT, mean, std)


def train_transform_2(mean, std):
    return _pipeline(HEAVIER, mean, std)


def val_transform(mean, std):
    return _pipeline([], mean, std)
