import torchvision.transforms as tf


def train_transform_1(mean, std):
    return tf.Compose([tf.RandomHorizontalFlip(), tf.RandomCrop(32, 4), tf.ToTensor(), tf.Normalize(mean, std)])


def train_transform_2(mean, std):
    return tf.Compose([tf.RandomHorizontalFlip(), tf.RandomCrop(32, 4), tf.RandomRotation(12),
                       tf.ToTensor(), tf.Normalize(mean, std), tf.RandomErasing(p=0.3)])


def val_transform(mean, std):
    return tf.Compose([tf.ToTensor(), tf.Normalize(mean, std)])
