import torchvision.transforms as tf


def _finish(mean, std):
    return [tf.ToTensor(), tf.Normalize(mean=mean, std=std)]


def train_transform_1(mean, std):
    return tf.Compose([tf.RandomHorizontalFlip(p=0.5), tf.RandomCrop(size=32, padding=4)] + _finish(mean, std))


def train_transform_2(mean, std):
    return tf.Compose([tf.RandomHorizontalFlip(p=0.5), tf.RandomCrop(size=32, padding=4),
                       tf.RandomAffine(degrees=10, translate=(0.1, 0.1)),
                       tf.ColorJitter(brightness=0.25, contrast=0.25, saturation=0.25)] + _finish(mean, std))


def val_transform(mean, std):
    return tf.Compose(_finish(mean, std))
