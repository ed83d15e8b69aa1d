"""The package's layout: layers that import only downward, no import loops, and a wheel that carries every
subpackage and the shipped corpus."""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def test_imports_point_down_the_layers_named_in_pyproject():
    proc = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_no_module_imports_itself_back_through_others():
    graph = grimp.build_graph("qa")
    loops = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                loops.append(" -> ".join((module, *back)))
    assert not loops, "import loops:\n" + "\n".join(loops)


def test_a_wheel_built_from_the_checkout_carries_every_subpackage_and_the_corpus(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "embeddings", "artifacts", "build",
                                                                "*.egg-info", "__pycache__", ".pytest_cache", "training"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path / "dist"), str(source)], check=True, capture_output=True, timeout=600)
    [wheel] = (tmp_path / "dist").glob("reform_qa-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {str(p.relative_to(ROOT)) for p in (ROOT / "qa").rglob("*.py")}
    assert packages <= names, f"missing from the wheel: {sorted(packages - names)}"
    assert {"qa/corpus/catalog.json", "qa/corpus/eval/questions.jsonl"} <= names
    assert {"qa/vocabulary/glossary.tsv", "qa/vocabulary/en_zh.tsv", "qa/vocabulary/places.tsv"} <= names
    assert {"qa/models/cross-e5.onnx", "qa/models/cross-e5.json", "qa/models/MODEL_CARD.md"} <= names
    assert zipfile.ZipFile(wheel).getinfo("qa/models/cross-e5.onnx").file_size < 40 * 2**20   # the bound
