"""`npm run train:gan`, step 3: the independent judge of the refiner's realism.

The GAN's own discriminator is a poor judge of its generator: it was trained against that very
generator and ends near chance by design. This judge never sees a refinement: a separate small
patch classifier, seeded, trained only on the TRAINING faces to tell the real photo crop (label 1)
from the classical render of a look on it (label 0), under the same region mask. On the held-out
faces (models/gan/evaluate.ts) it then scores the photo, the render and the refinement; where the
refinement falls between the render (0 on its scale) and the photo (1) is the realism gained.

It sees the detail layer (pixel minus 5x5 box mean) and the mask, not the colour: the real crops are
bare faces, so a judge that saw colour would learn "lipstick = render", and the refinement keeps the
render's colour by construction (device/gan/residual-guard.ts). What it can judge is texture, light
and edges: the render's flattened skin and lip texture, hard region boundaries and drawn patterns.
Its configuration (config.json `judge`) was fixed before it was ever scored on held-out faces.

It is the yardstick, so it is trained once and then left alone (`npm run train:gan` does not touch
it): `npm run train:gan:judge` (judge.sh) renders its pairs with the renderer of the pinned commit
(config.json judge.renderCommit, in a temporary git worktree: the renderer moves on, the yardstick
does not), and this script refuses data that differs from the committed list of what it was
trained on (judge-data.json: sha256 of each pair's bare, render and mask PNGs), so a retrain
reproduces judge.onnx byte for byte or says why it cannot.

Writes into --out: judge.onnx (inputs image, mask; output patches = P(photo) per patch) and
judge.json (what it was trained on, its training accuracy, time); --write-data-list (once, when
the yardstick is set) writes judge-data.json from the data given instead of checking against it.
"""
import argparse
import hashlib
import json
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from nets import GATE, HP_GAIN, count, highpass
from train import HERE, augment, load_split, seed_everything, sha256, weighted_mean

DATA_LIST = os.path.join(HERE, "judge-data.json")


def data_list(data):
    """sha256 of each training pair's bare, render and mask PNG bytes (what the judge reads), by id."""
    items = json.load(open(os.path.join(data, "index.json")))["train"]
    out = {}
    for i in items:
        h = hashlib.sha256()
        for kind in ("bare", "render", "mask"):
            h.update(open(os.path.join(data, "train", f"{i['id']}_{kind}.png"), "rb").read())
        out[i["id"]] = h.hexdigest()
    return out


def check_data(found, committed):
    """Refuses (SystemExit, naming what differs) data other than the committed list."""
    missing = sorted(set(committed) - set(found))
    extra = sorted(set(found) - set(committed))
    changed = sorted(k for k in set(found) & set(committed) if found[k] != committed[k])
    if missing or extra or changed:
        raise SystemExit(
            f"judge: the data is not what judge.onnx was trained on ({len(changed)} pairs differ, {len(missing)} missing, {len(extra)} extra; "
            f"first: {(changed + missing + extra)[:3]}); render it with the pinned renderer: npm run train:gan:judge"
        )


class Judge(nn.Module):
    """Patch classifier on the detail layer plus the mask: one logit per 8x8 patch (16x16 at 128 px)."""

    def __init__(self, width=12):
        super().__init__()
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(4, w, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(w, w, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * w, 1, 3, 1, 1),
        )

    def forward(self, image, mask):
        return self.net(torch.cat([highpass(image) * HP_GAIN, mask], 1))


class Exported(nn.Module):
    """What evaluate.ts reads: per-patch probability that the crop is a real photo."""

    def __init__(self, judge):
        super().__init__()
        self.judge = judge

    def forward(self, image, mask):
        return torch.sigmoid(self.judge(image, mask))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(HERE, "data"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "reference"))
    ap.add_argument("--config", default=os.path.join(HERE, "config.json"))
    ap.add_argument("--write-data-list", action="store_true", help="set the yardstick's data list from --data (once)")
    args = ap.parse_args()
    config = json.load(open(args.config))
    jc = config["judge"]
    found = data_list(args.data)
    if args.write_data_list:
        with open(DATA_LIST, "w") as f:
            json.dump({"renderCommit": jc["renderCommit"], "pairs": found}, f, indent=1)
            f.write("\n")
    committed = json.load(open(DATA_LIST))
    if committed["renderCommit"] != jc["renderCommit"]:
        raise SystemExit(f"judge: judge-data.json was rendered at {committed['renderCommit']}, config.json pins {jc['renderCommit']}")
    check_data(found, committed["pairs"])
    seed = jc["seed"]
    gen = seed_everything(seed, jc["threads"])
    previous = json.load(open(os.path.join(args.out, "judge.json"))).get("sha256") if os.path.exists(os.path.join(args.out, "judge.json")) else None

    bare, render, mask, _light, items = load_split(args.data, "train")
    n = bare.shape[0]
    J = Judge()
    opt = torch.optim.Adam(J.parameters(), lr=jc["lr"], betas=(0.9, 0.99))
    t0, cpu0 = time.time(), time.process_time()
    print(f"judge: {n} training pairs (photo vs render), {count(J)} params, {jc['steps']} steps", flush=True)
    acc_loss, acc_right, acc_n = 0.0, 0.0, 0
    curve = []
    for step in range(1, jc["steps"] + 1):
        idx = torch.randint(0, n, (jc["batch"],), generator=gen)
        b, r, m = augment(gen, bare[idx], render[idx], mask[idx])
        pw = F.adaptive_max_pool2d(F.max_pool2d(m, GATE, 1, GATE // 2), J(b, m).shape[-2:]).detach()
        opt.zero_grad()
        lr_, lf = J(b, m), J(r, m)
        loss = weighted_mean(F.binary_cross_entropy_with_logits(lr_, torch.ones_like(lr_), reduction="none"), pw) + weighted_mean(
            F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf), reduction="none"), pw
        )
        loss.backward()
        opt.step()
        with torch.no_grad():
            # A crop is called by its patches' weighted mean probability (as evaluate.ts scores it).
            pr = (torch.sigmoid(lr_) * pw).sum((1, 2, 3)) / pw.sum((1, 2, 3)).clamp(min=1e-6)
            pf = (torch.sigmoid(lf) * pw).sum((1, 2, 3)) / pw.sum((1, 2, 3)).clamp(min=1e-6)
            acc_right += float((pr > 0.5).float().sum() + (pf < 0.5).float().sum())
            acc_n += 2 * jc["batch"]
        acc_loss += float(loss)
        if step % jc["logEvery"] == 0:
            row = {"step": step, "loss": acc_loss / jc["logEvery"], "trainAccuracy": acc_right / acc_n, "cpu_s": round(time.process_time() - cpu0, 1)}
            curve.append(row)
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
            acc_loss, acc_right, acc_n = 0.0, 0.0, 0

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "judge.onnx")
    size = bare.shape[-1]
    torch.onnx.export(Exported(J).eval(), (torch.zeros(1, 3, size, size), torch.zeros(1, 1, size, size)), path, input_names=["image", "mask"], output_names=["patches"], opset_version=13)
    summary = {
        "seed": seed,
        "steps": jc["steps"],
        "batch": jc["batch"],
        "trainedOn": "training faces only: bare photo crop (real) vs the classical render of a look on it (render); never a refinement",
        "renderCommit": jc["renderCommit"],
        "dataListSha256": hashlib.sha256(json.dumps(found, sort_keys=True).encode()).hexdigest(),
        "samples": n,
        "params": count(J),
        "wallSeconds": round(time.time() - t0, 1),
        "cpuSeconds": round(time.process_time() - cpu0, 1),
        "sha256": sha256(path),
        "curve": curve,
    }
    with open(os.path.join(args.out, "judge.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    print(f"judge done in {summary['cpuSeconds']} s CPU; final training accuracy {curve[-1]['trainAccuracy']:.3f}; {path} sha256 {summary['sha256']}", flush=True)
    if previous is not None:
        print("judge: byte-identical to the committed judge.onnx" if previous == summary["sha256"] else f"judge: DIFFERS from the committed judge.onnx ({previous})", flush=True)


if __name__ == "__main__":
    main()
