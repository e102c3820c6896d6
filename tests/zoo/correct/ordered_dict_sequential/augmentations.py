import torchvision.transforms as T


def train_transform_1(mean, std):
    return T.Compose([T.RandomHorizontalFlip(p=0.5), T.RandomCrop(32, padding=4), T.ToTensor(), T.Normalize(mean, std)])


def train_transform_2(mean, std):
    return T.Compose([
        T.RandomHorizontalFlip(),
        T.RandomCrop(32, padding=4),
        T.RandomRotation(20),
        T.ColorJitter(0.4, 0.4, 0.4, 0.1),
        T.ToTensor(),
        T.Normalize(mean, std),
    ])


def val_transform(mean, std):
    return T.Compose([T.ToTensor(), T.Normalize(mean, std)])
