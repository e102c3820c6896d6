"""A saved run carries its speed-ups (`speedups` in the JSON): each harness epoch against the
notebook's loop as written, both timed in the same session (`harness bench --compare` reads them
the same way from two saved runs)."""

from harness.bench import compare


def pytest_benchmark_update_json(config, benchmarks, output_json):
    output_json["speedups"] = compare.speedups(output_json).to_dict(orient="records")
