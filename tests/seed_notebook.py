"""The course notebook's shape with a student's edits, written with nbformat: what the notebook tests hand in."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CORRECT = Path(__file__).resolve().parents[1] / "submissions" / "correct"
MANIFEST = (CORRECT / "manifest.toml").read_text()
MODEL = (CORRECT / "model.py").read_text().replace("import torch.nn as nn\n", "")
AUGMENT = (CORRECT / "augmentations.py").read_text().replace("from torchvision import transforms\n", "")
TRAINING = """model = CNNModel()
while True:  # would never end if it ran
    history = train_model(model, train_loader, test_loader, criterion, optimizer, epochs=40)
"""


def seed_shaped(**replace: str) -> list:
    """Cells in the shape of the course notebook, with the student's edits; `replace` swaps a cell's code."""
    cells = {
        "imports": "%matplotlib inline\n!pip install -q torchvision\nimport numpy as np\nimport torch\n"
                   "import torch.nn as nn\nimport torch.optim as optim\nfrom torchvision import datasets, transforms",
        "stats": "x = datasets.CIFAR10(root='./data', train=True, download=True, transform=transforms.ToTensor())\n"
                 "mean = x.data.mean(axis=(0, 1, 2)) / 255",
        "transforms": AUGMENT,
        "model": MODEL,
        "training": TRAINING,
        "manifest": f'MANIFEST = """\n{MANIFEST}"""',
    } | replace
    return [new_markdown_cell("# Coursework"), *(new_code_cell(source) for source in cells.values() if source)]


def write(tmp_path: Path, cells: list, name: str = "work.ipynb") -> Path:
    path = tmp_path / name
    nbformat.write(new_notebook(cells=cells), str(path))
    return path
