from torchvision import transforms as tf


def _pipeline(*augment):
    # mistake: no Normalize(mean, std) anywhere
    return tf.Compose(list(augment) + [tf.ToTensor()])


def train_transform_1(mean, std):
    return _pipeline(tf.RandomCrop(32, padding=2), tf.RandomHorizontalFlip())


def train_transform_2(mean, std):
    # mistake: the "aggressive" strategy is strategy 1 again, only in another order
    return _pipeline(tf.RandomHorizontalFlip(), tf.RandomCrop(32, padding=2))


def val_transform(mean, std):
    return _pipeline()
