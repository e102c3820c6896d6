from torchvision import transforms


def make_pipeline(mean, std, *, flip=True, crop=True, rotate=0, jitter=0.0, erase=0.0):
    steps = []
    if flip:
        steps.append(transforms.RandomHorizontalFlip())
    if crop:
        steps.append(transforms.RandomCrop(32, padding=4))
    if rotate:
        steps.append(transforms.RandomRotation(rotate))
    if jitter:
        steps.append(transforms.ColorJitter(jitter, jitter, jitter))
    steps += [transforms.ToTensor(), transforms.Normalize(mean, std)]
    if erase:
        steps.append(transforms.RandomErasing(p=erase))
    return transforms.Compose(steps)


def train_transform_1(mean, std):
    return make_pipeline(mean, std)


def train_transform_2(mean, std):
    return make_pipeline(mean, std, rotate=15, jitter=0.3, erase=0.25)


def val_transform(mean, std):
    return make_pipeline(mean, std, flip=False, crop=False)
