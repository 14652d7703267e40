#!/bin/sh
# `npm run train:gan`: render the samples with the daemon's try-on stage (TypeScript), then train
# and export with Debian's python3-torch (apt-get install -y python3-torch python3-onnx python3-pil).
# Runs at nice 10: training shares the machine with everything else.
set -e
cd "$(dirname "$0")/../../.."
PY=/usr/bin/python3
"$PY" -c 'import torch, onnx, PIL' 2>/dev/null || { echo "train:gan needs python3-torch, python3-onnx and python3-pil (apt-get install -y python3-torch python3-onnx python3-pil)" >&2; exit 1; }
nice -n 10 npx tsx models/gan/train/prepare-data.ts "$@"
nice -n 10 "$PY" models/gan/train/train.py
# The judge (the yardstick the refiner is scored by) is not retrained here: see judge.sh.
"$PY" -c 'import json; j = json.load(open("models/gan/reference/judge.json")); print("judge.onnx left alone (sha256 %s, pairs rendered at %s); retrain it only with npm run train:gan:judge" % (j["sha256"][:12], j["renderCommit"][:12]))'
