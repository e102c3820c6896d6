"""What the sandboxed child tells a student whose code raised: where in their own files, never the harness's."""

import sys

import pytest
import torch

from harness.grading import child


def _folder(tmp_path, model_source):
    (tmp_path / "model.py").write_text(model_source)
    (tmp_path / "their_blocks.py").write_text("def block(channels):\n    return channels.wrong_attribute\n")
    return tmp_path


def test_an_error_inside_torch_is_placed_at_the_students_line_that_called_it(tmp_path):
    folder = _folder(tmp_path, "import torch\n\n\nclass CNNModel(torch.nn.Module):\n    def __init__(self):\n"
                               "        super().__init__()\n        self.fc = torch.nn.Linear(5, 10)\n\n"
                               "    def forward(self, x):\n        return self.fc(x)\n")
    module = child.load_module(folder, "model.py")
    with pytest.raises(child.StudentCodeError) as raised:
        child._guarded("CNNModel() on a batch", lambda: module.CNNModel()(torch.zeros(2, 3)))
    assert str(raised.value).endswith("(model.py, line 10)"), str(raised.value)


def test_an_error_in_a_helper_of_theirs_is_placed_in_the_helper(tmp_path, monkeypatch):
    folder = _folder(tmp_path, "from their_blocks import block\n\n\nclass CNNModel:\n    def __init__(self):\n"
                               "        block(3)\n")
    monkeypatch.syspath_prepend(str(folder))  # as load_submission puts it, for the student's own imports
    monkeypatch.setitem(sys.modules, "their_blocks", None)  # restored (absent) after the test
    del sys.modules["their_blocks"]
    module = child.load_module(folder, "model.py")
    with pytest.raises(child.StudentCodeError) as raised:
        child._guarded("building CNNModel()", module.CNNModel)
    assert str(raised.value).endswith("(their_blocks.py, line 2)"), str(raised.value)


def test_a_call_their_code_does_not_take_names_no_line_of_the_harness(tmp_path):
    folder = _folder(tmp_path, "class CNNModel:\n    def __init__(self, use_dropout=False):\n        pass\n")
    module = child.load_module(folder, "model.py")
    with pytest.raises(child.StudentCodeError) as raised:
        child._guarded("building CNNModel(init_mode='zeros')", lambda: module.CNNModel(init_mode="zeros"))
    assert str(raised.value) == ("building CNNModel(init_mode='zeros') raised TypeError: CNNModel.__init__() got an "
                                 "unexpected keyword argument 'init_mode'")


def test_an_import_that_fails_is_placed_at_its_line(tmp_path):
    folder = _folder(tmp_path, "import torch\nimport timm_that_is_not_installed\n")
    with pytest.raises(child.StudentCodeError, match=r"model.py raised ModuleNotFoundError while being imported "
                                                      r"\(model.py, line 2\): No module named"):
        child.load_module(folder, "model.py")
