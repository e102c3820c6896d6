from torchvision import transforms as T


def _to_input(mean, std):
    return [T.ToTensor(), T.Normalize(mean, std)]


def train_transform_1(mean, std):
    return T.Compose([T.RandomHorizontalFlip(), T.RandomCrop(32, padding=4), *_to_input(mean, std)])


def train_transform_2(mean, std):
    return T.Compose([T.RandomHorizontalFlip(), T.RandomCrop(32, padding=4), T.RandomRotation(10),
                      *_to_input(mean, std), T.RandomErasing(p=0.5)])


def val_transform(mean, std):
    return T.Compose(_to_input(mean, std))
