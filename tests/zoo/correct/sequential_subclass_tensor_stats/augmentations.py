import torch
import torchvision.transforms as T


def train_transform_1(mean, std):
    return T.Compose([T.RandomCrop(32, padding=4, padding_mode="reflect"), T.RandomHorizontalFlip(),
                      T.ToTensor(), T.Normalize(torch.tensor(mean), torch.tensor(std))])


def train_transform_2(mean, std):
    return T.Compose([T.RandomCrop(32, padding=4, padding_mode="reflect"), T.RandomHorizontalFlip(),
                      T.RandAugment(num_ops=2, magnitude=9), T.ToTensor(), T.Normalize(mean, std)])


def val_transform(mean, std):
    return T.Compose([T.ToTensor(), T.Normalize(mean, std)])

