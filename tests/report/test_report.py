import pytest

from harness.engine.run import run_spec
from harness.report.reference_page import provenance, write_reference_report
from harness.store.database import Store
from reference.experiments import EXPERIMENTS

SHOWN = ("regression_l1", "regression_mse", "instancenorm_stats", "augmentation_gallery", "lr_step", "normalization_stats")


@pytest.fixture(scope="module")
def reference_page(tmp_path_factory, synth_root):
    from harness.engine.spec import PROFILES

    folder = tmp_path_factory.mktemp("reference")
    with Store(folder / "s.sqlite") as store:
        for experiment in SHOWN:
            store.save(run_spec(EXPERIMENTS[experiment], profile=PROFILES["quick"], data_root=synth_root, download=False))
        path = write_reference_report(store, folder / "p.html", profile="quick")
        return path, {r.experiment: r for r in store.runs()}


def test_page_shows_the_stored_numbers(reference_page):
    path, stored = reference_page
    page = path.read_text()
    for experiment in ("regression_l1", "regression_mse"):
        for metric in ("final_val_mae", "final_val_mse"):
            assert f"{stored[experiment].metrics[metric]:.4g}" in page
    assert "GENERATED stand-in data" in page  # provenance says the data was synthetic
    assert dict(provenance(stored))["train_step"] == "eager"  # how training steps ran (a CUDA graph on a GPU)
    assert "<th scope=\"row\">train_step</th><td>eager</td>" in page
    assert page.count("<svg") >= 3 and "data:image/png;base64," in page
    for external in ('src="http', "src='http", 'href="http', "<link", "<script"):
        assert external not in page  # self-contained: nothing is fetched when the page opens


def test_page_renders_in_a_real_browser(reference_page, browser):
    path, stored = reference_page
    seen = browser(path)
    assert seen["errors"] == [] and seen["broken_images"] == 0
    assert seen["images"] >= 4  # the curves, histograms, LR history and the gallery
    cross = next(t for t in seen["tables"] if t and t[0] == ["model", "val MAE", "val MSE"])
    assert cross[1][1] == f"{stored['regression_l1'].metrics['final_val_mae']:.4g}"
    assert cross[2][2] == f"{stored['regression_mse'].metrics['final_val_mse']:.4g}"


def test_page_for_an_empty_store_says_so(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        page = write_reference_report(store, tmp_path / "p.html", profile="full").read_text()
    assert "No runs stored for this profile yet" in page
