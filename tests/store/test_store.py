import sqlite3

import pytest

from harness.engine.run import planned_record, run_spec
from harness.store.database import Store
from harness.store.records import RunRecord
from reference.experiments import EXPERIMENTS


def _record(**overrides) -> RunRecord:
    base = dict(
        experiment="demo_exp", kind="train", subject="reference", profile="quick", seed=42,
        spec={"id": "demo_exp", "epochs": 2}, spec_hash="abc123", harness_version="0.1.0",
        history=[{"epoch": 1, "loss": 0.9, "val_loss": 1.0}, {"epoch": 2, "loss": 0.5, "val_loss": 0.7}],
        metrics={"final_val_loss": 0.7, "best_epoch": 2.0},
        arrays={"hist": {"edges": [0, 1, 2], "counts": [3, 4]}, "note": "text"},
        environment={"torch": "2.x", "device": "cpu"}, started_at="2026-01-01T00:00:00+00:00", wall_s=1.5,
    )
    return RunRecord(**{**base, **overrides})


def test_round_trip_preserves_every_field(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        record = _record()
        run_id = store.save(record)
        assert store.load(run_id) == record  # run_id was set on save


def test_round_trip_of_a_real_run(tmp_path, synth_root, quick):
    record = run_spec(EXPERIMENTS["loss_binary"], profile=quick, data_root=synth_root, download=False)
    with Store(tmp_path / "s.sqlite") as store:
        loaded = store.load(store.save(record))
    assert loaded == record
    assert store_path_reopens(tmp_path / "s.sqlite", record)


def store_path_reopens(path, record) -> bool:
    with Store(path) as store:
        return [r.experiment for r in store.runs()] == [record.experiment]


def test_same_key_is_not_recorded_twice(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.save(_record())
        with pytest.raises(ValueError, match="already stored"):
            store.save(_record())
        store.save(_record(metrics={"final_val_loss": 0.1}), replace=True)
        runs = list(store.runs())
        assert len(runs) == 1 and runs[0].metrics == {"final_val_loss": 0.1}
        assert store._db.execute("SELECT COUNT(*) FROM history").fetchone()[0] == 4  # old rows gone


def test_a_failed_save_leaves_nothing_behind(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        with pytest.raises(TypeError):
            store.save(_record(arrays={"bad": object()}))
        assert list(store.runs()) == []
        assert store._db.execute("SELECT COUNT(*) FROM history").fetchone()[0] == 0


def test_planned_record_finds_a_stored_run(tmp_path, synth_root, quick):
    spec = EXPERIMENTS["init_normal"]
    with Store(tmp_path / "s.sqlite") as store:
        assert store.find(planned_record(spec, profile=quick)) is None
        store.save(run_spec(spec, profile=quick, data_root=synth_root))
        assert store.find(planned_record(spec, profile=quick)) is not None


def test_schema_is_plain_sqlite_for_later_stages(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.save(_record())
    rows = sqlite3.connect(tmp_path / "s.sqlite").execute(
        "SELECT r.experiment, h.epoch, h.value FROM runs r JOIN history h ON h.run_id = r.id"
        " WHERE h.metric = 'val_loss' ORDER BY h.epoch").fetchall()
    assert rows == [("demo_exp", 1, 1.0), ("demo_exp", 2, 0.7)]


def test_metrics_and_arrays_come_back_in_the_order_they_were_recorded(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        record = _record(metrics={"zeta": 1.0, "alpha": 2.0}, arrays={"original": [1], "flips": [2]})
        loaded = store.load(store.save(record))
    assert list(loaded.metrics) == ["zeta", "alpha"] and list(loaded.arrays) == ["original", "flips"]
