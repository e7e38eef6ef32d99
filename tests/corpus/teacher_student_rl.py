"""Distillation init and a DQN target network: copies between live models."""
import copy

import torch

from nets import QNetwork, Student, Teacher

teacher = Teacher()
teacher.load_state_dict(torch.load("teacher.pt"))
student = Student()
student.load_state_dict(teacher.state_dict(), strict=False)

policy_net = QNetwork()
policy_net.load_state_dict(torch.load("policy.pt"))
target_net = copy.deepcopy(policy_net)
target_net.load_state_dict(policy_net.state_dict())


def sync(target, policy):
    target.load_state_dict(policy.state_dict())


def load(model, path):
    model.load_state_dict(torch.load(path))
