import torchvision.transforms as transforms


def train_transform_1(mean, std):
    return transforms.Compose([transforms.RandomHorizontalFlip(0.5), transforms.ToTensor(),
                               transforms.Normalize(mean, std)])


def train_transform_2(mean, std):
    return transforms.Compose([transforms.RandomHorizontalFlip(0.5), transforms.RandomCrop(32, padding=4),
                               transforms.ToTensor(), transforms.Normalize(mean, std),
                               transforms.RandomErasing(p=0.5, scale=(0.02, 0.2))])


def val_transform(mean, std):
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
