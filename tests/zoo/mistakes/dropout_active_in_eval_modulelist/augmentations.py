import torchvision.transforms as transforms


def _to_tensor(mean, std):
    return [transforms.ToTensor(), transforms.Normalize(mean, std)]


def train_transform_1(mean, std):
    return transforms.Compose([transforms.RandomHorizontalFlip(), transforms.RandomCrop(32, 4)] + _to_tensor(mean, std))


def train_transform_2(mean, std):
    extra = [transforms.RandomAffine(degrees=20, translate=(0.15, 0.15), scale=(0.85, 1.15), shear=5),
             transforms.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05)]
    return transforms.Compose([transforms.RandomHorizontalFlip(), transforms.RandomCrop(32, 4)] + extra
                              + _to_tensor(mean, std))


def val_transform(mean, std):
    return transforms.Compose(_to_tensor(mean, std))
