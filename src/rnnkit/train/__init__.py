"""rnnkit.train: one training engine for every application.

:class:`Trainer` runs the loop (AdamW, warm-up schedules, clipping, accumulation, bf16, early stopping, truncated
BPTT carry, resumable checkpoints, torchrun/DDP); :func:`save_model` / :func:`load_model` write and read model
directories (``config.json`` + ``model.safetensors``, never pickled). It knows modules and loaders, not tasks.

A training command is a subclass of :class:`TrainConfig` run by :func:`run_training` (the driver: run folder,
config/metrics files, rank-0 save, summary, Ctrl-C and ``--resume``; seed ensembles with :func:`fit_ensemble`):
see :mod:`rnnkit.train.driver` for the runnable example. Inside, an application supplies the model, the loaders
and a step function::

    seed_everything(cfg.seed)                      # before building the model: same init on every rank
    model = MyModel(...)                           # class MyModel(SavableModel, nn.Module), @register_model("app.kind")
    train = seeded_loader(train_set, cfg.batch_size, shuffle=True, seed=cfg.seed)    # shards itself under torchrun
    val = seeded_loader(val_set, cfg.batch_size, shuffle=False, seed=cfg.seed)

    def step(model, batch, carry):                 # batch is already on trainer.device
        x, y = batch
        loss = F.cross_entropy(model(x), y)        # or model.loss(batch): any method is fine, also under torchrun
        return StepOutput(loss=loss, n=len(y), metrics={"acc": ...})   # carry=state for truncated BPTT

    result = Trainer(model, cfg, step=step, run_dir=out, run_config=asdict(app_cfg)).fit(train, val, resume=...)
    if is_main_process():                          # under torchrun only rank 0 writes files
        model.save(out / "model")                  # the model holds the best weights by cfg.monitor

Under ``torchrun`` the trainer wraps the model *and* the step in ``torch.nn.parallel.DistributedDataParallel``
(:class:`~rnnkit.train.distributed.StepModule`, as PyTorch Lightning wraps ``training_step``): DDP's forward is
``step(model, batch, carry)``, so DDP all-reduces the gradients of whatever the step computes, ``model.loss(batch)``
included. Every trainable parameter must get a gradient in every step (DDP's ``find_unused_parameters=False``).

Reproducibility: ``fit`` seeds everything from ``cfg.seed`` (+ rank) and ``fit(resume=True)`` continues a killed
run bit for bit on CPU. Loaders whose order comes from :func:`seeded_loader` or from the global RNG at ``iter()``
(``DataLoader(shuffle=True)``, a ``torch.randint`` in ``__iter__``) resume exactly; a loader with its own
unseeded randomness does not. The trainer calls ``set_epoch(epoch)`` on a loader or its sampler if it has one.
"""

from rnnkit.train.callbacks import Callback
from rnnkit.train.checkpoint import load_checkpoint, save_checkpoint
from rnnkit.train.config import FitResult, NonFiniteLossError, StepOutput, TrainConfig
from rnnkit.train.distributed import distributed_sampler, is_main_process, seeded_loader
from rnnkit.train.driver import Fitted, Run, TrainingInterrupted, fit_ensemble, run_training
from rnnkit.train.modelfile import SavableModel, load_model, read_model_config, register_model, save_model
from rnnkit.train.runlog import write_json
from rnnkit.train.seeding import seed_everything
from rnnkit.train.trainer import Trainer

__all__ = [
    "Callback",
    "FitResult",
    "Fitted",
    "NonFiniteLossError",
    "Run",
    "SavableModel",
    "StepOutput",
    "TrainConfig",
    "Trainer",
    "TrainingInterrupted",
    "distributed_sampler",
    "fit_ensemble",
    "is_main_process",
    "load_checkpoint",
    "load_model",
    "read_model_config",
    "register_model",
    "run_training",
    "save_checkpoint",
    "save_model",
    "seed_everything",
    "seeded_loader",
    "write_json",
]
