from torchvision import transforms as tf


def train_transform_1(mean, std):
    return tf.Compose([tf.RandomHorizontalFlip(), tf.RandomCrop(32, padding=4), tf.ToTensor(), tf.Normalize(mean, std)])


def train_transform_2(mean, std):
    return tf.Compose([tf.RandomHorizontalFlip(), tf.RandomCrop(32, padding=4), tf.RandomAffine(10, shear=8),
                       tf.ToTensor(), tf.Normalize(mean, std), tf.RandomErasing(p=0.4)])


def val_transform(mean, std):
    return tf.Compose([tf.ToTensor(), tf.Normalize(mean, std)])
