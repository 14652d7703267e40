"""The reference makeup refiner (a small U-Net generator) and its PatchGAN discriminator.

Generator contract (models/gan/manifest.ts): inputs `image` (the aligned bare crop), `render` (the
classical render of the products on that crop), both NCHW RGB in [-1, 1], and `mask` (makeup
coverage, NCHW 1 channel in [0, 1]); output `refined`, NCHW RGB in [-1, 1]. The network predicts a
residual added to the render, so an untrained or unsure network starts from the render itself.
Most of the work happens at half and quarter resolution (TinyBeauty's lesson: makeup is a
low-frequency colour field plus high-frequency texture; the full-resolution layers stay thin).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2, inplace=True))


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
        return torch.clamp(render + self.out(y0), -1.0, 1.0)


def highpass(x):
    """Detail layer: the image minus its 5x5 box blur (what texture is made of)."""
    return x - F.avg_pool2d(x, 5, 1, 2, count_include_pad=False)


class PatchDiscriminator(nn.Module):
    """PatchGAN (pix2pix) on the detail layer and the luminance: judges texture, not colour.

    Colour is pinned to the render by the fidelity loss; a discriminator that saw colour would
    learn "lipstick red = fake" (the real crops are bare faces) and fight that loss.
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

    def forward(self, x):
        luma = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
        return self.net(torch.cat([highpass(x) * 4.0, luma], 1))


def count(m):
    return sum(p.numel() for p in m.parameters())
