#!/usr/bin/env bash
# Rebuild the second stage's training pairs and train the shipped cross-encoder from them, on CPU: about
# 45 minutes on 2 cores (torch CPU, pinned: unpinned it pulls GBs of CUDA packages). Resumable: run it
# again after a stop and each step continues from its checkpoint (training/work/).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -r requirements.txt "torch==2.13.0"
python -m training.build_pairs                                    # training/pairs.jsonl.gz
# The shipped model: two epochs, then continued to four on the same schedule's second half (as it was made)
python -m training.train --layers 4 --epochs 2 --lr 1e-4
python -m training.train --layers 4 --epochs 4 --lr 1e-4
python -m qa calibrate --learned    # prints the dev threshold: set it as abstain_below in qa/models/cross-e5.json
