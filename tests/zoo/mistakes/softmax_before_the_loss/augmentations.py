import torchvision.transforms as T


def _normalized(mean, std):
    return [T.ToTensor(), T.Normalize(mean=mean, std=std)]


def train_transform_1(mean, std):
    return T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()] + _normalized(mean, std))


def train_transform_2(mean, std):
    return T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.RandomRotation(15),
                      T.ColorJitter(0.2, 0.2, 0.2)] + _normalized(mean, std))


def val_transform(mean, std):
    return T.Compose(_normalized(mean, std))
