from torchvision import transforms


def train_transform_1(mean, std):
    return transforms.Compose([
        transforms.RandomHorizontalFlip(p=0.5),
        transforms.RandomCrop(size=32, padding=4, padding_mode="constant"),
        transforms.ToTensor(),
        transforms.Normalize(mean=mean, std=std),
    ])


def train_transform_2(mean, std):
    return transforms.Compose([
        transforms.RandomHorizontalFlip(p=0.5),
        transforms.RandomCrop(size=32, padding=4, padding_mode="constant"),
        transforms.RandomApply([transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        transforms.RandomGrayscale(p=0.2),
        transforms.ToTensor(),
        transforms.Normalize(mean=mean, std=std),
    ])


def val_transform(mean, std):
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean=mean, std=std)])
