"""`poisonbench serve`'s suite: chosen once into the settings it runs with and hands its workers, never written into
its own environment."""

import os

import torch

from cli.service_commands import _spawn_worker, _with_served_suite
from harness.registry import Suite
from settings import Settings


def test_the_suite_passed_to_serve_wins_over_the_settings_and_leaves_the_environment_alone(monkeypatch):
    monkeypatch.delenv("POISONBENCH_SUITE", raising=False)
    served = _with_served_suite(Settings(suite=Suite.PROXY), "smoke")
    assert served.suite is Suite.SMOKE
    assert "POISONBENCH_SUITE" not in os.environ


def test_without_a_choice_serve_keeps_the_settings_suite_else_picks_by_the_device(monkeypatch, capsys):
    assert _with_served_suite(Settings(suite=Suite.SMOKE), None).suite is Suite.SMOKE
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _with_served_suite(Settings(suite=None), None).suite is Suite.PROXY
    assert "no CUDA device: serving the proxy suite" in capsys.readouterr().err
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert _with_served_suite(Settings(suite=None), None).suite is Suite.OFFICIAL


def test_a_worker_serve_starts_is_given_the_served_suite(monkeypatch):
    started = {}
    monkeypatch.setattr("subprocess.Popen", lambda command, env, start_new_session: started.update(env=env))
    _spawn_worker(Settings(suite=Suite.SMOKE), "--maintenance")
    assert started["env"]["POISONBENCH_SUITE"] == Suite.SMOKE
