"""Knowledge distillation: teacher and student weights, chosen at run time."""
import torch

import config
from nets import Student, Teacher

teacher = Teacher()
student = Student()

teacher.load_state_dict(torch.load(config.TEACHER)) if config.USE_TEACHER else student.load_state_dict(torch.load(config.STUDENT))

student.load_state_dict(
    torch.load(config.STUDENT, map_location="cpu"),  # weights from the last distillation round
    strict=False,  # the projection head is new
)

optimizer = torch.optim.Adam(student.parameters(), lr=1e-4)
optimizer.load_state_dict(torch.load(config.OPTIMIZER))


def distill(batch):
    with torch.no_grad():
        soft = teacher(batch).softmax(-1)
    return torch.nn.functional.kl_div(student(batch).log_softmax(-1), soft, reduction="batchmean")
