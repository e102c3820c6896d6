from torchvision import transforms


def _finish(mean, std):
    return [transforms.ToTensor(), transforms.Normalize(tuple(mean), tuple(std))]


def train_transform_1(mean, std):
    return transforms.Compose([transforms.RandomHorizontalFlip()] + _finish(mean, std))


def train_transform_2(mean, std):
    return transforms.Compose([transforms.RandomHorizontalFlip(), transforms.RandomCrop(32, padding=6),
                               transforms.RandomAffine(degrees=10, scale=(0.8, 1.2))] + _finish(mean, std))


def val_transform(mean, std):
    return transforms.Compose(_finish(mean, std))
