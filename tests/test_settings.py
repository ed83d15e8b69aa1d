"""One place reads the defaults and the environment, and every entry point follows it; explicit arguments win."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa import Engine, Settings

ROOT = Path(__file__).resolve().parent.parent


def test_qa_home_names_both_folders_and_explicit_values_win(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_HOME", str(tmp_path / "h"))
    monkeypatch.delenv("QA_DATA_DIR", raising=False)
    monkeypatch.delenv("QA_INDEX_DIR", raising=False)
    s = Settings.from_env(data_dir=None, index_dir=None, model=None)   # the CLI's unset flags
    assert (s.data_dir, s.index_dir) == (tmp_path / "h" / "data", tmp_path / "h" / "embeddings")
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "ix"))
    s = Settings.from_env(data_dir=tmp_path / "d")
    assert (s.data_dir, s.index_dir) == (tmp_path / "d", tmp_path / "ix") and not s.wants_seed()
    with pytest.raises(TypeError, match="unknown setting 'kk'"):
        Settings.from_env(kk=3)


def test_the_python_engine_follows_the_environment(corpus, tmp_path, monkeypatch, encoder):
    monkeypatch.setenv("QA_DATA_DIR", str(corpus))
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "ix"))
    engine = Engine(encoder=encoder, progress=False)
    assert engine.settings.data_dir == corpus and (tmp_path / "ix" / "manifest.json").is_file()
    assert Engine(index_dir=tmp_path / "other", encoder=encoder, progress=False).settings.index_dir == tmp_path / "other"


def test_the_command_line_follows_qa_home(corpus, tmp_path):
    home = tmp_path / "h"
    home.mkdir()
    os.rename(corpus, home / "data")
    env = {**os.environ, "QA_HOME": str(home)}
    env.pop("QA_DATA_DIR", None)
    env.pop("QA_INDEX_DIR", None)
    proc = subprocess.run([sys.executable, "-m", "qa", "stats"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    stats = json.loads(proc.stdout)
    assert stats["index_dir"] == str(home / "embeddings") and stats["documents"] == 3
