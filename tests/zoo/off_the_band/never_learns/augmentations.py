import torchvision.transforms as T


def train_transform_1(mean, std):
    return T.Compose([T.RandomHorizontalFlip(p=0.5), T.RandomCrop(32, padding=4), T.ToTensor(), T.Normalize(mean, std)])


def train_transform_2(mean, std):
    return T.Compose([T.RandomHorizontalFlip(p=0.5), T.RandomCrop(32, padding=4), T.RandomRotation(15),
                      T.ColorJitter(0.3, 0.3, 0.3), T.ToTensor(), T.Normalize(mean, std)])


def val_transform(mean, std):
    return T.Compose([T.ToTensor(), T.Normalize(mean, std)])
