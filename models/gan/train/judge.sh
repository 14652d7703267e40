#!/bin/sh
# `npm run train:gan:judge`: (re)trains the independent judge, the yardstick the refiner is scored
# by. Its photo-vs-render pairs are rendered by the renderer of the pinned commit (config.json
# judge.renderCommit), checked out in a temporary git worktree, not by the current one: the
# renderer keeps changing, the yardstick must not. judge.py refuses data other than the committed
# list (judge-data.json) and says whether judge.onnx came out byte-identical to the committed one.
set -e
cd "$(dirname "$0")/../../.."
PY=/usr/bin/python3
"$PY" -c 'import torch, onnx, PIL' 2>/dev/null || { echo "train:gan:judge needs python3-torch, python3-onnx and python3-pil" >&2; exit 1; }
PIN=$("$PY" -c 'import json; print(json.load(open("models/gan/train/config.json"))["judge"]["renderCommit"])')
git cat-file -e "$PIN^{commit}" 2>/dev/null || { echo "train:gan:judge: the pinned renderer commit $PIN is not in this clone (fetch the full history)" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'git worktree remove --force "$TMP/tree" 2>/dev/null; rm -rf "$TMP"' EXIT
git worktree add --detach --quiet "$TMP/tree" "$PIN"
ln -s "$PWD/node_modules" "$TMP/tree/node_modules"
echo "rendering the judge's pairs with the renderer at $PIN"
(cd "$TMP/tree" && nice -n 10 npx tsx models/gan/train/prepare-data.ts --out "$TMP/data")
nice -n 10 "$PY" models/gan/train/judge.py --data "$TMP/data" "$@"
