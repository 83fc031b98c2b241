"""Starting the TimescaleDB test server: node is required on CI and optional elsewhere."""

from __future__ import annotations

import shutil

import pytest

from tests.timescale import timescale_server


def test_missing_node_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception, match="node is not installed"):
        timescale_server.find_node()


def test_missing_node_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception, match="CI must install node"):
        timescale_server.find_node()


def test_node_on_the_path_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: f"/opt/bin/{name}")

    assert timescale_server.find_node() == "/opt/bin/node"
