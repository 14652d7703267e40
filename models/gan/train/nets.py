"""The reference makeup refiner (a small U-Net generator) and its PatchGAN discriminator.

Generator contract (models/gan/manifest.ts): inputs `image` (the aligned bare crop), `render` (the
classical render of the products on that crop), both NCHW RGB in [-1, 1], and `mask` (makeup
coverage, NCHW 1 channel in [0, 1]); output `refined`, NCHW RGB in [-1, 1]. The network predicts a
residual added to the render, so an untrained or unsure network starts from the render itself; the
residual is gated by the mask widened by 3 px (GATE), so the crop beyond the makeup's reach is the
render (= the photo) by construction, not by a loss that can lose; and the residual is high-passed
(minus its 5x5 box mean), so the colour the render chose (judged blurred, as dE2000) stays by
construction too: the network moves texture, light and edges, not the shade.
Most of the work happens at half and quarter resolution (TinyBeauty's lesson: makeup is a
low-frequency colour field plus high-frequency texture; the full-resolution layers stay thin).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2, inplace=True))


# Widening of the mask that gates the residual: 3 px each side (the device pastes to the same reach).
GATE = 7


class Refiner(nn.Module):
    def __init__(self, width=(12, 24, 32)):
        super().__init__()
        w0, w1, w2 = width
        self.e0 = conv(7, w0)
        self.e1 = nn.Sequential(conv(w0, w1, 2), conv(w1, w1))
        self.e2 = nn.Sequential(conv(w1, w2, 2), conv(w2, w2), conv(w2, w2))
        self.d1 = conv(w2 + w1, w1)
        self.d0 = conv(w1 + w0, w0)
        self.out = nn.Conv2d(w0, 3, 3, 1, 1)
        # Start as the identity on the render: the residual head begins at zero.
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, image, render, mask):
        x0 = self.e0(torch.cat([image, render, mask], 1))
        x1 = self.e1(x0)
        x2 = self.e2(x1)
        y1 = self.d1(torch.cat([F.interpolate(x2, scale_factor=2.0, mode="nearest"), x1], 1))
        y0 = self.d0(torch.cat([F.interpolate(y1, scale_factor=2.0, mode="nearest"), x0], 1))
        gate = F.max_pool2d(mask, GATE, 1, GATE // 2)
        return torch.clamp(render + gate * highpass(self.out(y0)), -1.0, 1.0)


def highpass(x):
    """Detail layer: the image minus its 5x5 box blur (what texture is made of)."""
    return x - F.avg_pool2d(x, 5, 1, 2, count_include_pad=False)


# Skin texture's detail layer has a standard deviation near 0.06 in [-1, 1] units: this gain brings it
# near 1, where the discriminator's first layer learns from it (at 4 it stayed at chance).
HP_GAIN = 16.0


class PatchDiscriminator(nn.Module):
    """Conditional PatchGAN (pix2pix): judges a crop's detail layer together with the makeup mask.

    Real: the bare photo crop with the mask of the look drawn on it (real skin and lip texture, real
    light, no makeup boundary, under that mask); fake: the refined render with the same mask. The
    mask tells it where to look (the regions and their boundary). It sees the detail layer, not the
    colour: colour is pinned to the render by the fidelity loss, and a discriminator that saw it
    would learn "lipstick red = fake" (the real crops are bare faces) and fight that loss.
    """

    def __init__(self, width=16):
        super().__init__()
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(4, w, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(4 * w, 1, 3, 1, 1),
        )

    def forward(self, x, mask):
        return self.net(torch.cat([highpass(x) * HP_GAIN, mask], 1))


def count(m):
    return sum(p.numel() for p in m.parameters())
