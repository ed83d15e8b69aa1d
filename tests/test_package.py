"""The installed package: `pip install` of the checkout into a fresh virtual environment (reusing the
packages already installed), then used from another directory, offline, as a researcher's script would."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A venv with reform-qa installed from a copy of this checkout; yields (bin folder, env, home)."""
    tmp = tmp_path_factory.mktemp("pkg")
    source = tmp / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "embeddings", "artifacts", "build", "*.egg-info",
                                                                 "__pycache__", ".pytest_cache"))
    venv = tmp / "venv"
    # no pip of its own: the system pip and setuptools (visible through --system-site-packages) install into it
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    str(source)], check=True, cwd=tmp)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "QA_DATA_DIR", "QA_INDEX_DIR", "QA_HOME")}
    env.update({"XDG_DATA_HOME": str(tmp / "home"), "HF_HUB_OFFLINE": "1", "PATH": f"{venv / 'bin'}:{env['PATH']}"})
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    yield venv / "bin", env, tmp / "home" / "reform-qa", elsewhere


def test_the_console_command_answers_from_another_directory(installed):
    bin_dir, env, home, elsewhere = installed
    proc = subprocess.run([str(bin_dir / "reform-qa"), "ask", "2019年镇海GDP是多少？", "--json", "--k", "2"],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "embedding" not in proc.stderr                         # the shipped corpus's vectors ship with it
    out = json.loads(proc.stdout)
    assert "1021.6亿元" in out["hits"][0]["text"] and out["hits"][0]["citation"].startswith("《政府工作报告")
    assert (home / "data" / "catalog.json").is_file() and (home / "embeddings" / "manifest.json").is_file()
    assert list(elsewhere.iterdir()) == []                      # nothing written where it was run


def test_import_qa_in_a_script_uses_the_installed_copy_and_embeds_nothing_again(installed):
    bin_dir, env, home, elsewhere = installed
    script = ("import qa, json; e = qa.Engine(progress=False); a = e.ask('那江北呢？', history=['镇海城乡居民收入倍差是多少？']);"
              "print(json.dumps({'file': qa.__file__, 'query': a.query, 'top': a.hits[0].text,"
              " 'embedded': e.report.embedded, 'data': str(e.settings.data_dir)}, ensure_ascii=False))")
    subprocess.run([str(bin_dir / "reform-qa"), "index"], cwd=elsewhere, env=env, check=True, capture_output=True,
                   timeout=600)
    proc = subprocess.run([str(bin_dir / "python"), "-c", script], cwd=elsewhere, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert str(bin_dir.parent) in out["file"] and str(ROOT) not in out["file"]
    assert out["query"] == "江北城乡居民收入倍差是多少？" and "1.62" in out["top"]
    assert out["embedded"] == 0 and out["data"] == str(home / "data")


def test_the_console_command_reports_bad_arguments_without_a_traceback(installed):
    bin_dir, env, _, elsewhere = installed
    proc = subprocess.run([str(bin_dir / "reform-qa"), "ask", "x", "--k", "0"], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--k must be between 1 and 50" in proc.stderr and "Traceback" not in proc.stderr
