"""`npm run train:gan`, step 2: trains the reference makeup refiner adversarially and exports ONNX.

Reads the samples models/gan/train/prepare-data.ts rendered (the daemon's try-on stage on real
package photos), trains the U-Net refiner against a PatchGAN discriminator on CPU with the
committed configuration (config.json, seeded), and writes into --out:
  makeup-refiner.onnx        the generator (inputs image/render/mask, output refined; opset 13)
  discriminator.onnx         the discriminator (for the held-out quality report, not shipped to devices)
  losses.csv, losses.png     loss curves (every logEvery steps)
  training.json              what was trained, on what, how long (wall and CPU seconds)

Losses (weights in config.json), on whole aligned crops (the size the device runs):
  adv       LSGAN with a conditional PatchGAN (nets.py): real = the bare photo crop with the mask of
            the look drawn on it (real skin and lip texture under the regions), fake = the refined
            render with the same mask; judged on the detail layer, patch by patch, each patch
            counted by how much of the (widened) made-up region it sees.
  texture   L1 between the detail layers (pixel minus 5x5 box mean) of the refined crop and of the
            bare photo, under the widened mask: the paired (pix2pix) term that tells the generator
            which texture the photo had where the classical render flattened it.
  identity  L1 to the render where the mask is 0 (the boundary band the gate lets the residual reach).
  colour    CIELAB L1 between the 5x5-blurred refined crop and the blurred render inside the regions:
            the colour the shopper chose stays (judged as dE2000 in the quality report), texture may move.
Beyond 3 px of the mask the output is the render by construction (nets.GATE).
Every loss (and the discriminator) sees the refinement as the device pastes it: after the guard's
light hold (hold.py, options config.json train.guard = the device's DEFAULT_GUARD), so the
generator learns to make the kept light and texture look real rather than to dim them.
"""
import argparse
import csv
import hashlib
import json
import math
import os
import random
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from hold import apply_hold, held_plane
from nets import GATE, PatchDiscriminator, Refiner, count, highpass

HERE = os.path.dirname(os.path.abspath(__file__))


def seed_everything(seed, threads):
    """Seeds every generator a run draws from, on a fixed thread count with deterministic kernels
    (a run is reproducible only so); returns the generator for the run's own sampling."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    return torch.Generator().manual_seed(seed)


def load_split(data, split):
    index = json.load(open(os.path.join(data, "index.json")))
    items = index[split]
    def img(i, kind):
        return np.asarray(Image.open(os.path.join(data, split, f"{i['id']}_{kind}.png")).convert("L" if kind == "mask" else "RGB"))
    bare = np.stack([img(i, "bare") for i in items]).astype(np.float32) / 127.5 - 1
    render = np.stack([img(i, "render") for i in items]).astype(np.float32) / 127.5 - 1
    mask = np.stack([img(i, "mask") for i in items]).astype(np.float32)[..., None] / 255.0
    size = bare.shape[1]
    light = np.stack([np.fromfile(os.path.join(data, split, f"{i['id']}_light.f32"), dtype="<f4").reshape(size, size) for i in items])[..., None]
    t = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).contiguous()
    return t(bare), t(render), t(mask), t(light), items


def augment(gen, *xs):
    """Same random flip, rotation (+-8 deg), scale (+-6 %) and gain (+-8 %) for every tensor of a sample."""
    n = xs[0].shape[0]
    ang = (torch.rand(n, generator=gen) - 0.5) * math.radians(16)
    scale = 1 + (torch.rand(n, generator=gen) - 0.5) * 0.12
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack([torch.stack([cos * flip, -sin, torch.zeros(n)], 1), torch.stack([sin * flip, cos, torch.zeros(n)], 1)], 1)
    grid = F.affine_grid(theta, list(xs[0].shape), align_corners=False)
    gain = 1 + (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 0.16
    out = []
    for x in xs:
        y = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        if y.shape[1] == 3:
            y = torch.clamp((y + 1) * gain - 1, -1, 1)
        out.append(y)
    return out


def srgb_to_lab(x):
    """[-1, 1] sRGB (NCHW) to CIELAB D65, differentiable."""
    c = (x + 1) / 2
    lin = torch.where(c <= 0.04045, c / 12.92, ((c.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4)
    r, g, b = lin[:, 0], lin[:, 1], lin[:, 2]
    X = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    Y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    Z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    f = lambda t: torch.where(t > 0.008856, t.clamp(min=0.008856) ** (1 / 3), 7.787 * t + 16 / 116)
    fx, fy, fz = f(X), f(Y), f(Z)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], 1)


def blur(x):
    return F.avg_pool2d(x, 5, 1, 2, count_include_pad=False)


def weighted_mean(v, w):
    return (v * w).sum() / w.sum().clamp(min=1e-6)


def plot(rows, keys, path):
    W, H, pad = 900, 520, 50
    im = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(im)
    colours = ["#c0392b", "#2980b9", "#27ae60", "#8e44ad", "#d35400", "#16a085", "#2c3e50"]
    steps = [r["step"] for r in rows]
    d.rectangle([pad, pad, W - pad, H - pad], outline="black")
    d.text((pad, 15), "losses per step (each curve scaled to its own max; max in legend)", fill="black")
    for k, key in enumerate(keys):
        vals = [r[key] for r in rows]
        top = max(max(vals), 1e-9)
        pts = [(pad + (s - steps[0]) / max(1, steps[-1] - steps[0]) * (W - 2 * pad), H - pad - v / top * (H - 2 * pad)) for s, v in zip(steps, vals)]
        d.line(pts, fill=colours[k % len(colours)], width=2)
        d.text((W - pad - 210, pad + 8 + 14 * k), f"{key} (max {top:.3g})", fill=colours[k % len(colours)])
    d.text((pad, H - pad + 8), f"step {steps[0]}", fill="black")
    d.text((W - pad - 60, H - pad + 8), f"step {steps[-1]}", fill="black")
    im.save(path)


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(HERE, "data"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "reference"))
    ap.add_argument("--config", default=os.path.join(HERE, "config.json"))
    ap.add_argument("--steps", type=int, default=None, help="override the configured steps (smoke runs)")
    ap.add_argument("--stop-at", type=int, default=None, help="stop after this step, on the configured schedule (a rerun's prefix, to compare)")
    ap.add_argument("--keep-every", type=int, default=0, help="also keep the model at each log point that is a multiple of N in <out>/steps/<step>/")
    args = ap.parse_args()
    config = json.load(open(args.config))
    tc = config["train"]
    steps = args.steps or tc["steps"]
    seed = config["seed"]
    gen = seed_everything(seed, tc["threads"])

    bare, render, mask, light, items = load_split(args.data, "train")
    # The device guard's hold, per sample (it reads the render and the drawn light, not the model).
    held = held_plane(render, mask, light, tc["guard"])
    n = bare.shape[0]
    size = bare.shape[-1]
    G, D = Refiner(), PatchDiscriminator()
    optG = torch.optim.Adam(G.parameters(), lr=tc["lrG"], betas=(0.5, 0.99))
    optD = torch.optim.Adam(D.parameters(), lr=tc["lrD"], betas=(0.5, 0.99))
    w = tc["weights"]
    rows = []
    os.makedirs(args.out, exist_ok=True)
    t0, cpu0 = time.time(), time.process_time()
    acc = {}
    print(f"training on {n} samples ({size}x{size}), G {count(G)} params, D {count(D)} params, {steps} steps", flush=True)
    def write_outputs(done, out):
        """Curves, ONNX, training.json and manifest.json of the model as it is after `done` steps
        (written at every log point, so an interrupted run still leaves its latest model)."""
        os.makedirs(out, exist_ok=True)
        keys = ["d_real", "d_fake", "g_adv", "g_texture", "g_identity", "g_colour_lab", "g_total"]
        with open(os.path.join(out, "losses.csv"), "w", newline="") as f:
            wr = csv.DictWriter(f, fieldnames=["step", *keys, "wall_s", "cpu_s"])
            wr.writeheader()
            wr.writerows(rows)
        plot(rows, keys, os.path.join(out, "losses.png"))

        z = torch.zeros(1, 3, size, size)
        zm = torch.zeros(1, 1, size, size)
        gpath = os.path.join(out, "makeup-refiner.onnx")
        dpath = os.path.join(out, "discriminator.onnx")
        torch.onnx.export(G, (z, z, zm), gpath, input_names=["image", "render", "mask"], output_names=["refined"], opset_version=13)
        torch.onnx.export(D, (z, zm), dpath, input_names=["image", "mask"], output_names=["patches"], opset_version=13)
        wall, cpu = time.time() - t0, time.process_time() - cpu0
        summary = {
            "seed": seed,
            "steps": done,
            "configuredSteps": steps,
            "batch": tc["batch"],
            "threads": tc["threads"],
            "samples": n,
            "faces": len({i["id"].rsplit("_", 1)[0] for i in items}),
            "photos": sorted({i["photo"] for i in items}),
            "cropSize": size,
            "guard": tc["guard"],
            "heldPixelsPerSample": round(float((held >= 0.5).float().sum()) / n, 1),
            "generatorParams": count(G),
            "discriminatorParams": count(D),
            "wallSeconds": round(wall, 1),
            "cpuSeconds": round(cpu, 1),
            "maxRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "torch": torch.__version__,
            "generatorSha256": sha256(gpath),
            "discriminatorSha256": sha256(dpath),
            "final": rows[-1],
        }
        json.dump(summary, open(os.path.join(out, "training.json"), "w"), indent=2)
        manifest = {
            "name": "makeup-refiner",
            "task": "makeup-refinement",
            "format": "onnx",
            # The weights' own hash in the version: a configuration change (a loss weight) that keeps the
            # step count must not ship new weights under an old version.
            "version": f"ref-unet{count(G) // 1000}k-{size}px-s{seed}-{done}steps-held-{summary['generatorSha256'][:8]}",
            "license": "MIT (this repository); trained on photos from @vladmandic/face-api and @vladmandic/human (MIT)",
            "files": [{"path": "makeup-refiner.onnx", "sha256": summary["generatorSha256"], "size": os.path.getsize(gpath)}],
            "input": {"size": size, "layout": "NCHW", "range": [-1, 1], "alignment": "eyes-mouth-v1"},
            "tensors": {"image": "image", "render": "render", "mask": "mask", "refined": "refined"},
            "latencyClass": "cpu-realtime",
            "parameters": count(G),
            "training": {"config": "models/gan/train/config.json", "summary": "training.json", "losses": "losses.csv"},
        }
        with open(os.path.join(out, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        print(f"exported after {done} steps, {wall:.0f} s wall, {cpu:.0f} s CPU; " if done < steps else f"done in {wall:.0f} s wall, {cpu:.0f} s CPU; generator {gpath} sha256 {summary['generatorSha256']}", flush=True)


    for step in range(1, (args.stop_at or steps) + 1):
        lr_scale = min(1.0, 2 * (1 - step / steps) + 0.1)
        for opt, lr in ((optG, tc["lrG"]), (optD, tc["lrD"])):
            for group in opt.param_groups:
                group["lr"] = lr * lr_scale
        idx = torch.randint(0, n, (tc["batch"],), generator=gen)
        b, r, m, h = augment(gen, bare[idx], render[idx], mask[idx], held[idx])
        inside = (m > 0.5).float()
        gate = F.max_pool2d(m, GATE, 1, GATE // 2)
        band = (m == 0).float() * gate.gt(0).float()
        fake = apply_hold(G(b, r, m), r, h)
        # Patch weights: how much of the widened made-up region each discriminator patch sees (the
        # same for the real crop and the refined one: they are the same face under the same mask).
        pw = F.adaptive_max_pool2d(gate, D(b, m).shape[-2:]).detach()

        # Discriminator step: real = the bare photo under the mask, fake = the refinement.
        optD.zero_grad()
        d_real = D(b, m)
        d_fake = D(fake.detach(), m)
        loss_d = weighted_mean((d_real - 1) ** 2, pw) + weighted_mean(d_fake ** 2, pw)
        loss_d.backward()
        optD.step()

        # Generator step.
        optG.zero_grad()
        g_adv = weighted_mean((D(fake, m) - 1) ** 2, pw)
        g_tex = weighted_mean((highpass(fake) - highpass(b)).abs(), gate.expand_as(fake))
        g_id = weighted_mean((fake - r).abs(), band.expand_as(fake))
        g_col = weighted_mean((srgb_to_lab(blur(fake)) - srgb_to_lab(blur(r))).abs(), inside.expand(-1, 3, -1, -1))
        loss_g = w["adv"] * g_adv + w["texture"] * g_tex + w["identity"] * g_id + w["colour"] * g_col
        loss_g.backward()
        optG.step()

        for k, v in (("d_real", weighted_mean((d_real - 1) ** 2, pw)), ("d_fake", weighted_mean(d_fake ** 2, pw)), ("g_adv", g_adv), ("g_texture", g_tex), ("g_identity", g_id), ("g_colour_lab", g_col), ("g_total", loss_g)):
            acc[k] = acc.get(k, 0.0) + float(v)
        if step % tc["logEvery"] == 0 or step == steps:
            k_n = tc["logEvery"] if step % tc["logEvery"] == 0 else step % tc["logEvery"]
            row = {"step": step, **{k: v / k_n for k, v in acc.items()}, "wall_s": round(time.time() - t0, 1), "cpu_s": round(time.process_time() - cpu0, 1)}
            rows.append(row)
            acc = {}
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
            write_outputs(step, args.out)
            if args.keep_every and step % args.keep_every == 0:
                write_outputs(step, os.path.join(args.out, "steps", str(step)))



if __name__ == "__main__":
    main()
