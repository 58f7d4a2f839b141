"""`satudata`: the commands a person types, end to end with the real rooms (ingestion, dbt, gates)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from agency_systems.disdik import SEKOLAH_HEADERS, load_sekolah_reference, write_sekolah_workbook
from ingestion.zones import Zones
from orchestration.cli import build_parser, main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_every_command() -> None:
    text = build_parser().format_help()
    for command in ("run", "demo-data", "catalog", "releases", "status"):
        assert command in text


def test_catalog_lists_datasets_and_publications(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "catalog")
    assert code == 0
    assert "Catalog OK: 1 dataset(s), 1 publication(s)" in out
    assert "disdik__sekolah" in out and "sekolah*.xlsx" in out
    assert "disdik__jumlah_sekolah_per_kecamatan" in out


def test_catalog_describes_every_kind_of_source_in_the_shipped_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    from ingestion.catalog import DEFAULT_CATALOG_DIR

    code, out, _ = _run(capsys, "catalog", "--catalog-dir", str(DEFAULT_CATALOG_DIR))
    assert code == 0
    assert "postgres table penduduk (connection disdukcapil_siak), trigger poll every 60 s" in out
    assert "mysql table dana_desa (connection dpmd_sipades), trigger poll every 60 s" in out
    assert "REST API " in out and "xlsx files 'sekolah*.xlsx' in drop/disdik/, trigger file_drop every 2 s" in out


def test_an_invalid_catalog_is_an_error_naming_the_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "disdik.yml").write_text("agency: {code: disdik}\n")
    code, _, err = _run(capsys, "catalog", "--catalog-dir", str(tmp_path))
    assert code == 1
    assert "disdik.yml" in err and "agency.name" in err


def test_demo_data_writes_every_agency_system_once(capsys: pytest.CaptureFixture[str], zones: Zones) -> None:
    from agency_systems.demo import SYSTEMS

    code, out, _ = _run(capsys, "demo-data", "--scale", "0.005")
    assert code == 0
    for what in SYSTEMS.values():
        assert f"ready: {what}" in out
    assert "AIRFLOW_CONN_DISDUKCAPIL_SIAK=sqlite:" in out and "AIRFLOW_CONN_DPMD_SIPADES=sqlite:" in out
    assert (zones.drop("disdik") / "sekolah_2019.xlsx").is_file() and list(zones.drop("diskominfo").glob("*.csv"))
    written = {path: path.stat().st_mtime_ns for path in zones.root.rglob("*") if path.is_file()}
    assert _run(capsys, "demo-data", "--scale", "0.005")[0] == 0
    again = {path: path.stat().st_mtime_ns for path in zones.root.rglob("*") if path.is_file()}
    assert again == written, "the same (scale, seed) rewrites nothing: a second run sees no change"


def test_run_publishes_then_reports_no_change(capsys: pytest.CaptureFixture[str], zones: Zones) -> None:
    rows = load_sekolah_reference()
    rows[4] = {**rows[4], "npsn": "3040X123"}  # not 8 digits: quarantined
    rows[9] = {**rows[9], "bentuk": "PAUD"}  # not an accepted jenjang: quarantined
    write_sekolah_workbook(zones.drop("disdik") / "sekolah_2019.xlsx", rows)

    code, out, err = _run(capsys, "run")
    assert code == 0, out + err
    assert "ingest__disdik__sekolah      success" in out
    assert f"rows in {len(rows)}, loaded {len(rows) - 2}, quarantined 2" in out
    quarantined = [line for line in out.splitlines() if "quarantined: row" in line]
    assert len(quarantined) == 2
    assert "column npsn" in quarantined[0] or "column npsn" in quarantined[1]
    assert "Gate: passed" in out
    release_id = os.readlink(zones.releases / "current")
    assert f"Release: {release_id}" in out
    assert str(zones.releases / release_id) in out

    code, out, err = _run(capsys, "run")
    assert code == 0, out + err
    assert "disdik__sekolah: nothing new" in out
    assert "build_warehouse              not_triggered" in out
    assert f"No change: release {release_id} is current" in out

    code, out, _ = _run(capsys, "status")
    assert code == 0
    assert f"Current release: {release_id}" in out
    code, out, _ = _run(capsys, "releases")
    assert f"* {release_id}" in out


def test_a_refused_file_fails_the_run_with_the_reason(capsys: pytest.CaptureFixture[str], zones: Zones) -> None:
    headers = {key: text for key, text in SEKOLAH_HEADERS.items() if key != "npsn"}
    write_sekolah_workbook(zones.drop("disdik") / "sekolah_2020.xlsx", headers=headers)
    code, out, err = _run(capsys, "run")
    assert code == 1
    assert "ingest__disdik__sekolah      failed" in out
    assert "FAILED ingest__disdik__sekolah.extract_load: RejectedFile:" in err
    assert "sekolah_2020.xlsx" in err and "npsn" in err
    assert not (zones.releases / "current").exists()


def test_releases_on_an_empty_data_root(capsys: pytest.CaptureFixture[str], zones: Zones) -> None:
    code, out, _ = _run(capsys, "releases")
    assert code == 0 and "No releases" in out
    code, _, err = _run(capsys, "releases", "--rollback", "20250101T000000Z-deadbeef")
    assert code == 1
    assert "unknown release '20250101T000000Z-deadbeef'" in err
    code, out, _ = _run(capsys, "status")
    assert code == 0
    assert "disdik__sekolah" in out and "no batch yet" in out
    assert "Current release: none" in out


def test_up_passes_the_callers_connections_but_not_its_airflow_settings(
    zones: Zones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.platform import Platform

    monkeypatch.setenv("AIRFLOW_CONN_DINKES_API", "http://agency.example:8000")
    monkeypatch.setenv("AIRFLOW_CONN_CLASH", "from-the-caller")
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", "/somewhere/else")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    monkeypatch.setenv("AIRFLOW_HOME", "/callers/airflow")
    (tmp_path / "airflow").mkdir()
    platform = Platform(zones, tmp_path / "airflow", extra_env={"AIRFLOW_CONN_CLASH": "ours"})
    env = platform.environment()
    assert env["AIRFLOW_CONN_DINKES_API"] == "http://agency.example:8000"
    assert env["AIRFLOW_CONN_CLASH"] == "ours", "extra_env wins over the caller"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] != "/somewhere/else"
    assert "AIRFLOW__CORE__EXECUTOR" not in env or env["AIRFLOW__CORE__EXECUTOR"] != "CeleryExecutor"
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow")


def test_signal_names_an_unknown_dataset_in_one_line(capsys: pytest.CaptureFixture[str], zones: Zones) -> None:
    code, _, err = _run(capsys, "signal", "disdik__sekolh")
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "'disdik__sekolh'" in err and "disdik__sekolah" in err


def test_signal_extra_without_equals_is_a_usage_error(capsys: pytest.CaptureFixture[str], zones: Zones) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["signal", "disdik__sekolah", "--extra", "foo"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "KEY=VALUE" in err and "'foo'" in err and "Traceback" not in err


def test_rollback_to_an_unknown_release_leaves_no_files(capsys: pytest.CaptureFixture[str], zones: Zones) -> None:
    code, _, err = _run(capsys, "releases", "--rollback", "20250101T000000Z-deadbeef")
    assert code == 1 and "unknown release" in err
    assert list(zones.root.rglob("*")) == [], "no releases/ folder, no releases/.lock"


def _subcommands() -> list[str]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


@pytest.mark.parametrize("command", _subcommands())
def test_every_command_help_describes_it(capsys: pytest.CaptureFixture[str], command: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    blocks = capsys.readouterr().out.split("\n\n")
    assert blocks[0].startswith(f"usage: satudata {command}")
    assert not blocks[1].startswith(("options:", "positional arguments:")), f"`satudata {command} --help` has no description"


def test_every_option_with_a_default_shows_it() -> None:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for command, parser in action.choices.items():
        for option in parser._actions:
            if option.default not in (None, False, [], argparse.SUPPRESS):
                assert "default" in (option.help or ""), f"satudata {command} {option.option_strings}"


def test_the_commands_are_the_documented_ones() -> None:
    assert set(_subcommands()) == {"run", "demo-data", "catalog", "releases", "status", "up", "down", "signal"}


def test_warehouse_help_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    from warehouse.__main__ import main as warehouse_main

    with pytest.raises(SystemExit):
        warehouse_main(["--help"])
    summary = capsys.readouterr().out.split("\n\n")[1]
    for command in ("sources", "boundaries", "build", "docs"):
        assert command in summary
    with pytest.raises(SystemExit):
        warehouse_main(["docs", "--help"])
    assert "index.html" in capsys.readouterr().out
