from harness.report import write_reference_report
from harness.runner import run_spec
from harness.store import Store
from reference.experiments import EXPERIMENTS


def test_page_shows_the_stored_numbers(tmp_path, synth_root, quick):
    with Store(tmp_path / "s.sqlite") as store:
        for experiment in ("regression_l1", "regression_mse", "instancenorm_stats", "augmentation_gallery"):
            store.save(run_spec(EXPERIMENTS[experiment], profile=quick, data_root=synth_root, download=False))
        page = write_reference_report(store, tmp_path / "p.html", profile="quick").read_text()
        stored = {r.experiment: r for r in store.runs()}
    for experiment in ("regression_l1", "regression_mse"):
        for metric in ("final_val_mae", "final_val_mse"):
            assert f"{stored[experiment].metrics[metric]:.4g}" in page
    assert "GENERATED stand-in data" in page  # provenance says the data was synthetic
    assert page.count("<svg") >= 3 and "data:image/png;base64," in page
    for external in ('src="http', "src='http", 'href="http', "<link", "<script"):
        assert external not in page  # self-contained: nothing is fetched when the page opens


def test_page_for_an_empty_store_says_so(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        page = write_reference_report(store, tmp_path / "p.html", profile="full").read_text()
    assert "No runs stored for this profile yet" in page
