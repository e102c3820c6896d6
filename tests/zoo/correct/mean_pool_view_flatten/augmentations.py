import torchvision


def train_transform_1(mean, std):
    t = torchvision.transforms
    return t.Compose([t.RandomHorizontalFlip(), t.ToTensor(), t.Normalize(mean, std)])


def train_transform_2(mean, std):
    t = torchvision.transforms
    return t.Compose([t.RandomResizedCrop(32, scale=(0.5, 1.0), ratio=(0.8, 1.25)), t.RandomHorizontalFlip(),
                      t.ColorJitter(0.3, 0.3, 0.3), t.ToTensor(), t.Normalize(mean, std)])


def val_transform(mean, std):
    t = torchvision.transforms
    return t.Compose([t.ToTensor(), t.Normalize(mean, std)])
