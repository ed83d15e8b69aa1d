"""The command line: JSON shape, exit codes, and clear messages for bad input."""
import json
import re
import subprocess
import sys

import pytest

from qa import cli


@pytest.fixture
def run(corpus, tmp_path, monkeypatch, encoder):
    monkeypatch.setattr(sys.modules["qa.engine"], "load_encoder", lambda model=None, runtime=None: encoder)

    def run(*args):
        return cli.main(["--data", str(corpus), "--index", str(tmp_path / "ix"), *args])
    return run


def test_ask_json_has_the_documented_shape(run, capsys):
    assert run("ask", "地区生产总值达到多少", "--k", "2", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert {"question", "hits", "abstained"} <= set(out)
    assert len(out["hits"]) == 2
    assert set(out["hits"][0]) >= {"text", "score", "doc_id", "title", "date", "paragraph", "heading", "citation"}


def test_empty_question_gets_a_message_and_exit_3(run, capsys):
    assert run("ask", "   ") == 3
    assert "问题为空" in capsys.readouterr().out


def test_k_out_of_range_is_a_usage_error(run, capsys):
    assert run("ask", "改革", "--k", "0") == 2
    assert "--k must be between 1 and 50" in capsys.readouterr().err


def test_stats_counts_documents_and_passages(run, capsys):
    assert run("stats") == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["documents"] == 3 and stats["model"] == "hash-encoder"


def test_missing_corpus_folder_is_an_error_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "qa", "--data", str(tmp_path / "nope"),
                           "--index", str(tmp_path / "ix"), "stats"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "no corpus folder" in proc.stderr and "Traceback" not in proc.stderr


def test_unloadable_explicit_model_names_the_fix(tmp_path, corpus):
    proc = subprocess.run([sys.executable, "-m", "qa", "--data", str(corpus), "--index", str(tmp_path / "ix"),
                           "--model", "no-such/model", "stats"], capture_output=True, text=True,
                          env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "no-such/model" in proc.stderr and "leave --model unset for the offline multilingual-e5-small" in proc.stderr


def test_add_list_remove_round_trip_with_a_bad_file_in_the_batch(run, corpus, tmp_path, capsys):
    good = tmp_path / "象山.txt"
    good.write_text("象山简讯\n\n象山县远洋渔业捕捞量达到42万吨。", encoding="utf-8")
    bad = tmp_path / "notes.xlsx"
    bad.write_bytes(b"PK")
    assert run("add", str(good), str(bad), "--date", "2024-03-01") == 1       # one error: exit 1, good one in
    out, err = capsys.readouterr()
    assert "added: 象山.txt added as 象山" in out and "newly embedded" in out
    assert "unsupported type .xlsx" in err
    assert re.search(r"embedding (\d+) new chunks: \1/\1 chunks \(100%\)", err)   # no terminal: progress lines
    assert run("list") == 0 and "象山\t2024-03-01 (given)\t象山简讯" in capsys.readouterr().out
    assert run("ask", "象山远洋渔业捕捞量", "--k", "1") == 0
    assert "《象山简讯》（2024-03-01）" in capsys.readouterr().out
    assert run("remove", "象山") == 0 and "removed 象山" in capsys.readouterr().out
    assert run("remove", "象山") == 1 and "no document '象山'" in capsys.readouterr().err
