import torchvision.transforms as transforms


def train_transform_1(mean, std):
    return transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
                               transforms.ToTensor(), transforms.Normalize(mean, std)])


def train_transform_2(mean, std):
    return transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
                               transforms.RandomAffine(degrees=10, translate=(0.05, 0.05)),
                               transforms.ToTensor(), transforms.Normalize(mean, std)])


def val_transform(mean, std):
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
