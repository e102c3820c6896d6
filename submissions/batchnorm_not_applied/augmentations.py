import torchvision.transforms as T


def train_transform_1(mean, std):
    """Mirror images left-right half of the time."""
    return T.Compose([T.RandomHorizontalFlip(0.5), T.ToTensor(), T.Normalize(mean, std)])


def train_transform_2(mean, std):
    """Mirroring, plus shears and rotations, plus colour changes most of the time."""
    return T.Compose([
        T.RandomHorizontalFlip(0.5),
        T.RandomAffine(degrees=20, shear=10),
        T.RandomApply([T.ColorJitter(0.5, 0.5, 0.5, 0.1)], p=0.8),
        T.ToTensor(),
        T.Normalize(mean, std),
    ])


def val_transform(mean, std):
    """No augmentation when measuring."""
    return T.Compose([T.ToTensor(), T.Normalize(mean, std)])
