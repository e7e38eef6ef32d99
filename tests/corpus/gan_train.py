"""DCGAN training loop with separate optimizers for the two networks."""

import os

import torch
import torch.nn as nn
from torch import optim

from dcgan import Discriminator, Generator

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
netG = Generator().to(device)
netD = Discriminator().to(device)
optimizerD = optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
optimizerG = optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))

if os.path.exists("gan.pt"):
    checkpoint = torch.load("gan.pt")
    for net, key in ((netG, "G"), (netD, "D")):
        net.load_state_dict(checkpoint[key])
    for opt, key in zip((optimizerG, optimizerD), ("optG", "optD")):
        opt.load_state_dict(checkpoint[key])

criterion = nn.BCELoss()
fixed_noise = torch.randn(64, 100, 1, 1, device=device)
