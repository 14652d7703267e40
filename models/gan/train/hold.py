"""The device guard's light hold (device/gan/residual-guard.ts, step 2) inside training.

The device never lets a refinement dim the light a finish drew (the specular and glints the
renderer records) nor, on a lit finish, the surface's own highlights. A generator trained without
that hold learns to dim them (the bare-photo discriminator has never seen glitter), and the device
then throws that change away. Trained through the same hold, the adversarial and fidelity losses
see what the device will paste, so the generator is pushed to make the kept light look real
instead of removing it.

`held_plane` is the share (0..1) of a dimming residual held off at each pixel; it depends only on
the render, the coverage and the drawn light (not on the model), so it is computed once per sample
and augmented with it. `apply_hold` applies it to the residual, differentiably.
The options mirror DEFAULT_GUARD (config.json train.guard; tests/gan/hold.test.ts keeps them equal).
"""
import torch
import torch.nn.functional as F

# Luminance weights, the guard's: linear-light Y for the light and highlight shares, luma for "dims".
LUM = (0.2126, 0.7152, 0.0722)
LUMA = (0.299, 0.587, 0.114)


def linear_luminance(x):
    """[-1, 1] sRGB (NCHW) to linear-light luminance (N1HW)."""
    c = ((x + 1) / 2).clamp(0, 1)
    lin = torch.where(c <= 0.04045, c / 12.92, ((c.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4)
    return LUM[0] * lin[:, 0:1] + LUM[1] * lin[:, 1:2] + LUM[2] * lin[:, 2:3]


def box_mean(x, radius):
    """Box mean of side 2r+1, windows shrinking at the edges (the guard's boxMean)."""
    return F.avg_pool2d(x, 2 * radius + 1, 1, radius, count_include_pad=False)


@torch.no_grad()
def held_plane(render, coverage, light, opts):
    """render NCHW [-1, 1], coverage N1HW 0..1, light N1HW (linear luminance the finish drew) ->
    N1HW share of a dimming residual held off (the max of drawn light's 3x3 share and the own
    highlight's), as guardResidual computes it."""
    Y = linear_luminance(render)
    lit = (light > 0).float()
    share = torch.where(light > 0, (light / Y.clamp(min=1e-4) / opts["lightShare"]).clamp(max=1), torch.zeros_like(light))
    share = F.max_pool2d(share, 3, 1, 1)
    covered = (coverage >= 0.5).float()
    num = box_mean(Y * covered, opts["ownRadius"])
    den = box_mean(covered, opts["ownRadius"])
    base = torch.where(den > 0, num / den.clamp(min=1e-12), torch.full_like(den, float("inf")))
    near = F.max_pool2d(lit, 2 * opts["ownReach"] + 1, 1, opts["ownReach"]) > 0
    # Negative where the pixel is not above its neighbourhood: clamped to 0 (not held).
    own_share = ((1 - base / Y.clamp(min=1e-12)) / opts["ownShare"]).clamp(0, 1)
    own = torch.where((covered > 0) & near, own_share, torch.zeros_like(Y))
    return torch.maximum(share, own)


def apply_hold(fake, render, held):
    """The render plus the residual with its dimming held off by `held` (brightening and texture pass)."""
    res = fake - render
    w = torch.tensor(LUMA, dtype=res.dtype).view(1, 3, 1, 1)
    dims = ((res * w).sum(1, keepdim=True) < 0).float()
    return render + res * (1 - held * dims)
