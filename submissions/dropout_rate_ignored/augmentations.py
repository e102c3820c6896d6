from torchvision import transforms


def _finish(mean, std):
    return [transforms.ToTensor(), transforms.Normalize(mean, std)]


def train_transform_1(mean, std):
    return transforms.Compose([transforms.RandomCrop(32, padding=2, padding_mode="reflect"), *_finish(mean, std)])


def train_transform_2(mean, std):
    return transforms.Compose([
        transforms.RandomCrop(32, padding=4, padding_mode="reflect"),
        transforms.RandomHorizontalFlip(),
        transforms.RandomPerspective(distortion_scale=0.3, p=0.7),
        transforms.ColorJitter(0.3, 0.3, 0.3, 0.05),
        *_finish(mean, std),
    ])


def val_transform(mean, std):
    return transforms.Compose(_finish(mean, std))
