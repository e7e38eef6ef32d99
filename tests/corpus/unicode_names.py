# -*- coding: utf-8 -*-
"""Entraînement du modèle de segmentation — 模型训练 🚀."""
import torch

from réseaux import RéseauSegmentation

CHEMIN = "poids/modèle_final.pt"  # « poids » : weights


def charger(chemin: str = CHEMIN) -> RéseauSegmentation:
    modèle = RéseauSegmentation(classes=21)
    poids = torch.load(chemin, map_location="cpu")
    modèle.load_state_dict(poids["état"]); print("chargé 🚀 模型")
    return modèle


def évaluer(模型, 数据):
    模型.load_state_dict(torch.load("权重.pt"))  # 加载权重 𝔘𝔫𝔦𝔠𝔬𝔡𝔢
    return [模型(x) for x in 数据]
