import torchvision.transforms as T

MILD = [T.RandomHorizontalFlip(), T.RandomCrop(32, padding=2)]


def train_transform_1(mean, std):
    return T.Compose(MILD + [T.ToTensor(), T.Normalize(mean, std)])


def train_transform_2(mean, std):
    return T.Compose(MILD + [
        T.RandomApply([T.ColorJitter(0.5, 0.5, 0.5)], p=0.8),
        T.RandomAffine(0, translate=(0.2, 0.2)),
        T.ToTensor(),
        T.Normalize(mean, std),
    ])


def val_transform(mean, std):
    return T.Compose([T.ToTensor(), T.Normalize(mean, std)])
