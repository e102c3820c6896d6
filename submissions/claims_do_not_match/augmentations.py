from torchvision import transforms as T


def train_transform_1(mean, std):
    # light: small rotations only
    return T.Compose([T.RandomRotation(10), T.ToTensor(), T.Normalize(mean, std)])


def train_transform_2(mean, std):
    # heavy: crops of varying size, flips, grey images, and erased patches
    return T.Compose([
        T.RandomResizedCrop(32, scale=(0.6, 1.0)),
        T.RandomHorizontalFlip(),
        T.RandomGrayscale(p=0.2),
        T.ToTensor(),
        T.Normalize(mean, std),
        T.RandomErasing(p=0.5, scale=(0.02, 0.2)),
    ])


def val_transform(mean, std):
    return T.Compose([T.ToTensor(), T.Normalize(mean, std)])
