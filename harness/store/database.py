"""The results store: one SQLite file. A run is written in one transaction, or not at all.

Schema (later stages read these tables directly):
  runs(id, subject, experiment, kind, profile, seed, spec_hash, harness_version, spec, environment,
       started_at, wall_s, status, error)   -- status 'ok' or 'failed' (error says why, for the student)     -- unique on (subject, experiment, profile, seed, spec_hash, harness_version)
  history(run_id, epoch, metric, value)   -- per-epoch curves, long format
  metrics(run_id, name, value)            -- summary scalars
  arrays(run_id, name, data)              -- JSON arrays (histograms, images, LR histories)
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Iterator

from harness.store.records import RunRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    experiment TEXT NOT NULL,
    kind TEXT NOT NULL,
    profile TEXT NOT NULL,
    seed INTEGER NOT NULL,
    spec_hash TEXT NOT NULL,
    harness_version TEXT NOT NULL,
    spec TEXT NOT NULL,
    environment TEXT NOT NULL,
    started_at TEXT NOT NULL,
    wall_s REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'ok',
    error TEXT NOT NULL DEFAULT '',
    UNIQUE (subject, experiment, profile, seed, spec_hash, harness_version)
);
CREATE TABLE IF NOT EXISTS history (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    metric TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, epoch, metric)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS arrays (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);
"""

_KEY = ("subject", "experiment", "profile", "seed", "spec_hash", "harness_version")


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self.lock = threading.RLock()  # parallel graders share one connection
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def find(self, record: RunRecord) -> int | None:
        """The id of a stored run with the same key as `record`, if any."""
        where = " AND ".join(f"{k} = ?" for k in _KEY)
        with self.lock:
            row = self._db.execute(
                f"SELECT id FROM runs WHERE {where}", [getattr(record, k) for k in _KEY]
            ).fetchone()
        return row[0] if row else None

    def save(self, record: RunRecord, *, replace: bool = False) -> int:
        """Store a run atomically; with `replace`, a run under the same key is overwritten."""
        with self.lock, self._db:
            existing = self.find(record)
            if existing is not None:
                if not replace:
                    raise ValueError(f"run {record.experiment!r} is already stored (id {existing})")
                self._db.execute("DELETE FROM runs WHERE id = ?", (existing,))
            cursor = self._db.execute(
                "INSERT INTO runs (subject, experiment, kind, profile, seed, spec_hash, harness_version,"
                " spec, environment, started_at, wall_s, status, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.subject, record.experiment, record.kind, record.profile, record.seed,
                    record.spec_hash, record.harness_version, json.dumps(record.spec),
                    json.dumps(record.environment), record.started_at, record.wall_s, record.status, record.error,
                ),
            )
            run_id = cursor.lastrowid
            self._db.executemany(
                "INSERT INTO history VALUES (?,?,?,?)",
                [
                    (run_id, int(row["epoch"]), name, value)
                    for row in record.history
                    for name, value in row.items()
                    if name != "epoch"
                ],
            )
            self._db.executemany(
                "INSERT INTO metrics VALUES (?,?,?)",
                [(run_id, name, value) for name, value in record.metrics.items()],
            )
            self._db.executemany(
                "INSERT INTO arrays VALUES (?,?,?)",
                [(run_id, name, json.dumps(data)) for name, data in record.arrays.items()],
            )
        record.run_id = run_id
        return run_id

    def load(self, run_id: int) -> RunRecord:
        with self.lock:
            return self._load(run_id)

    def _load(self, run_id: int) -> RunRecord:
        row = self._db.execute(
            "SELECT subject, experiment, kind, profile, seed, spec_hash, harness_version, spec,"
            " environment, started_at, wall_s, status, error FROM runs WHERE id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            raise KeyError(f"no run with id {run_id} in {self.path}")
        subject, experiment, kind, profile, seed, spec_hash, version, spec, env, started, wall, status, error = row
        epochs: dict[int, dict[str, float]] = {}
        for epoch, name, value in self._db.execute(
            "SELECT epoch, metric, value FROM history WHERE run_id = ? ORDER BY epoch", (run_id,)
        ):
            epochs.setdefault(epoch, {"epoch": epoch})[name] = value
        metrics = dict(self._db.execute("SELECT name, value FROM metrics WHERE run_id = ? ORDER BY rowid", (run_id,)))
        arrays = {
            name: json.loads(data)
            for name, data in self._db.execute("SELECT name, data FROM arrays WHERE run_id = ? ORDER BY rowid", (run_id,))
        }
        return RunRecord(
            experiment=experiment, kind=kind, subject=subject, profile=profile, seed=seed,
            spec=json.loads(spec), spec_hash=spec_hash, harness_version=version,
            history=[epochs[e] for e in sorted(epochs)], metrics=metrics, arrays=arrays,
            environment=json.loads(env), started_at=started, wall_s=wall, status=status, error=error, run_id=run_id,
        )

    def runs(self, *, subject: str | None = None, profile: str | None = None) -> Iterator[RunRecord]:
        """Stored runs, oldest first, optionally for one subject and/or profile."""
        clauses, params = [], []
        for column, value in (("subject", subject), ("profile", profile)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self.lock:
            ids = [r[0] for r in self._db.execute(f"SELECT id FROM runs {where} ORDER BY id", params)]
        for run_id in ids:
            yield self.load(run_id)
