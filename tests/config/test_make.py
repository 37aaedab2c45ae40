"""`make` refuses a Python older than the minimum at once, with a message that says which one to use."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _make(*args: str) -> subprocess.CompletedProcess:
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    return subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_an_old_python_is_refused_before_anything_is_installed(tmp_path):
    old = tmp_path / "python3.10"
    old.write_text('#!/bin/sh\n[ "$1" = "--version" ] && echo "Python 3.10.13" && exit 0\nexit 0\n')  # prints nothing for -c
    old.chmod(0o755)
    result = _make("run", f"PYTHON={old}")
    assert result.returncode != 0
    assert "needs Python 3.11 or newer" in result.stderr and "Python 3.10.13" in result.stderr
    assert "pip install" not in result.stdout


def test_a_missing_python_is_named():
    result = _make("run", "PYTHON=python-that-does-not-exist")
    assert result.returncode != 0 and "not installed" in result.stderr


def test_the_current_python_is_accepted_and_gets_its_own_stamp():
    result = _make("install", f"PYTHON={sys.executable}")
    assert result.returncode == 0, result.stderr
    tag = sys.implementation.cache_tag
    assert f".installed-prod-{tag}-" in result.stdout or "compiletranslations" in result.stdout
