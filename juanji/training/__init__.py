"""The training loop behind the ``juanji`` command, and the pieces it is made of.

    from juanji.training import TrainConfig, train
    result = train(TrainConfig(model="lenet", data="sample", epochs=3, out="runs/demo"))
    print(result.test.accuracy)

Modules, by concern: ``config`` (settings), ``sources`` (reading datasets), ``preprocess``
(image -> model input), ``data`` (datasets and loaders), ``sampler`` (resumable shuffling),
``choices`` (the optimiser and schedule tables), ``builders`` (model, optimiser, schedule),
``loop`` (the loop), ``resume`` (checkpoint payload, restoring it, resume rules), ``run_folder``
(the files of ``--out``), ``callbacks`` (code run at fixed points of a run), ``metrics``
(metrics log), ``curves`` (PNG), ``progress`` (live bars), ``interrupt`` (Ctrl-C / SIGTERM),
``inference`` (eval), ``confusion`` (confusion matrix), ``predict`` (predict).
Checkpoint files are ``juanji.checkpoint``.
"""

from .callbacks import Callback
from .config import TrainConfig
from .errors import TrainingError
from .inference import EvalResult, evaluate, evaluate_checkpoint, load_trained_model
from .predict import Prediction, Predictions, predict_images
from .loop import RunResult, train
from .preprocess import Preprocessing

__all__ = ["TrainConfig", "Callback", "TrainingError", "train", "RunResult", "evaluate", "EvalResult", "evaluate_checkpoint",
           "predict_images", "Prediction", "Predictions", "load_trained_model", "Preprocessing"]
