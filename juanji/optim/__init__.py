"""torch.optim: optimisers that update parameters from their ``.grad``, and learning-rate
schedulers (``juanji.optim.lr_scheduler``).

    >>> import juanji as torch
    >>> model = torch.nn.Linear(4, 2)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10)
    >>> # per batch:  opt.zero_grad(); loss.backward(); opt.step()      per epoch: sched.step()
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "lr_scheduler"]
