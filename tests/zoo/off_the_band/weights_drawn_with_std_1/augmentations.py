from torchvision import transforms


def build(mean, std, extra=()):
    return transforms.Compose(list(extra) + [transforms.ToTensor(), transforms.Normalize(mean=mean, std=std)])


def train_transform_1(mean, std):
    return build(mean, std, [transforms.RandomHorizontalFlip(), transforms.RandomCrop(32, 4)])


def train_transform_2(mean, std):
    return build(mean, std, [transforms.RandomHorizontalFlip(), transforms.RandomCrop(32, 4),
                             transforms.RandomAffine(10, translate=(0.1, 0.1)),
                             transforms.ColorJitter(brightness=0.2, contrast=0.2)])


def val_transform(mean, std):
    return build(mean, std)
