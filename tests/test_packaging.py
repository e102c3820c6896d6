"""What a plain (not editable) install carries: pyproject.toml lists the packages, so the list must
stay equal to the packages on disk; `.ci/plain_install` installs it and grades with it."""

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
SETUPTOOLS = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def _on_disk() -> set[str]:
    folders = {p.parent for top in ("harness", "reference") for p in (REPO / top).rglob("__init__.py")}
    return {".".join(folder.relative_to(REPO).parts) for folder in folders}


def test_every_package_on_disk_is_installed_and_nothing_else():
    mapped = set(SETUPTOOLS["package-dir"])
    assert set(SETUPTOOLS["packages"]) - mapped == _on_disk()


def test_the_pages_templates_the_rubric_and_the_checks_config_are_package_data():
    where = {package: REPO / SETUPTOOLS["package-dir"].get(package, package.replace(".", "/"))
             for package in SETUPTOOLS["package-data"]}
    for package, patterns in SETUPTOOLS["package-data"].items():
        matched = {path.name for pattern in patterns for path in where[package].glob(pattern)}
        assert matched, f"{package}: {patterns} match nothing in {where[package]}"
    assert {"class.html.j2", "submission.html.j2", "reference.html.j2", "style.css"} <= {
        p.name for p in (REPO / "templates").iterdir()}
    assert SETUPTOOLS["package-data"]["reference"] == ["rubric.toml"]
    assert SETUPTOOLS["package-data"]["reference.starter"] == ["manifest.toml"]
    assert SETUPTOOLS["package-data"]["harness.grading.checks"] == ["pytest.ini"]


def test_the_installed_names_find_the_files_the_harness_reads():
    from harness.grading import rubric
    from harness.report import reference_page

    assert (reference_page.TEMPLATES / "submission.html.j2").is_file()
    assert rubric.DEFAULT.is_file() and rubric.DEFAULT.name == "rubric.toml"
