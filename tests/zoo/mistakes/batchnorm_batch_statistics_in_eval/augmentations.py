from torchvision import transforms as tf


def train_transform_1(mean, std):
    return tf.Compose([tf.RandomCrop(32, padding=4, padding_mode="reflect"), tf.RandomHorizontalFlip(),
                       tf.ToTensor(), tf.Normalize(mean, std)])


def train_transform_2(mean, std):
    return tf.Compose([tf.RandomCrop(32, padding=4, padding_mode="reflect"), tf.RandomHorizontalFlip(),
                       tf.RandomRotation(25), tf.RandomGrayscale(p=0.2),
                       tf.ColorJitter(brightness=0.4, contrast=0.4),
                       tf.ToTensor(), tf.Normalize(mean, std)])


def val_transform(mean, std):
    return tf.Compose([tf.ToTensor(), tf.Normalize(mean, std)])
