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


def _stored_seeds(store, experiment, finals):
    """Runs of `experiment` under successive seeds, each ending at one of `finals` (no training)."""
    from harness.engine.run import planned_record
    from harness.engine.spec import PROFILES, seeded

    for k, final in enumerate(finals):
        record = planned_record(seeded(EXPERIMENTS[experiment], k), profile=PROFILES["quick"])
        measured = ({"mae": 0.5, "val_mae": 0.6 - e / 10} if experiment.startswith("regression") else
                    {"val_accuracy": final * (e + 1) / 3, "accuracy": final, "lr": 1e-3 / (e + 1)} for e in range(3))
        record.history = [{"epoch": e + 1, "loss": 1.0 - final / (3 - e), "val_loss": 1.1 - final / (3 - e), **m}
                          for e, m in enumerate(measured)]
        record.metrics = {"best_val_accuracy": final, "epochs_run": 3, "final_val_mae": 0.4, "final_val_mse": 0.3}
        record.environment = {"data": {"dataset": "mnist", "folder": "/generated", "synthetic": True}}
        store.save(record)


def test_the_notebooks_comparisons_share_axes_with_seed_bands_and_the_coursework_table_averages_seeds(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        for experiment, finals in {"lr_step": (0.90, 0.92), "lr_plateau": (0.94, 0.95), "regression_l1": (0.0,),
                                   "regression_mse": (0.0,), "cw_baseline": (0.50, 0.60), "cw_zeros_init": (0.10, 0.10)}.items():
            _stored_seeds(store, experiment, finals)
        page = write_reference_report(store, tmp_path / "p.html", profile="quick").read_text()
    schedules = page.split("<h3>Learning-rate schedules: StepLR against ReduceLROnPlateau</h3>")[1].split("</figure>")[0]
    assert "2 seeds." in schedules and "StepLR" in schedules and "ReduceLROnPlateau" in schedules
    assert "validation accuracy" in schedules and "training loss" in schedules  # one loss: losses compared
    assert schedules.count("fill-opacity") >= 2 * len(("loss", "val_loss", "val_accuracy"))  # a band per run and panel
    regression = page.split("<h3>Regression: MAE-trained against MSE-trained</h3>")[1].split("</figure>")[0]
    assert "1 seed." in regression and "validation MAE" in regression
    assert "training loss" not in regression and "validation accuracy" not in regression  # L1 and MSE losses differ
    assert "fill-opacity" not in regression  # one seed: no band
    table = page.split("Coursework: best validation accuracy")[1].split("</table>")[0]
    assert "<td>baseline</td>" in table and "<td>0.55</td>" in table and "<td>0.07071</td>" in table
    assert "<td>zeros_init</td>" in table and "Coursework: the given CNN with augmentation" in page


def test_a_loss_panel_that_spans_decades_is_chosen_for_a_log_axis_and_a_band_edge_at_zero_does_not_count():
    from harness.report import figures

    panels = {"huge": {"run": ([12000.0, 1800.0], [0.0, 0.0], [2.5, 0.6])},
              "near": {"run": ([2.3, 0.4], [0.0, 0.0], [2.5, 0.6])}}
    assert figures.spanning_decades(panels) == {"huge"}
    assert figures.over_band(panels, logy=figures.spanning_decades(panels)).count("10^{") >= 2
    assert "10^{" not in figures.over_band(panels)
