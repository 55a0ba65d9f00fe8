"""torchrun support: process-group setup, rank queries, reductions, and data loaders whose order depends only on
(seed, epoch), so that a resumed run sees the same batches as an uninterrupted one.

Launch with ``torchrun --nproc_per_node N your_command ...`` (``--nnodes`` to go past one machine): torchrun sets
``WORLD_SIZE``/``RANK``/``LOCAL_RANK``; rnnkit never launches processes itself. Gradients are averaged by
``torch.nn.parallel.DistributedDataParallel`` around :class:`StepModule` (see :func:`data_parallel`).
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import logging
import os
from collections.abc import Callable, Sized
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler

log = logging.getLogger(__name__)


def world_size() -> int:
    """Processes in the job: ``WORLD_SIZE`` set by torchrun, else 1.

    >>> world_size() >= 1
    True
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's global rank (0 without torchrun)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """True on rank 0, the only process that should log, print results or write files.

    >>> is_main_process()
    True
    """
    return rank() == 0


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def resolve_device(name: str) -> torch.device:
    """``--device`` as a torch.device: auto -> CUDA if available (this process's GPU under torchrun), else CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for, but torch.cuda.is_available() is False; use --device cpu")
        return torch.device("cuda", local_rank() if world_size() > 1 else torch.cuda.current_device())
    return torch.device(name)


def init_distributed(device: torch.device) -> bool:
    """Join the torchrun job if there is one (gloo on CPU, nccl on CUDA); returns whether it is distributed."""
    if world_size() <= 1:
        return False
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
        atexit.register(_destroy)
        log.info("joined a %s process group: rank %d of %d", backend, rank(), world_size())
        if rank() != 0:  # rank 0 alone reports progress; the others only warn
            logging.getLogger("rnnkit").setLevel(logging.WARNING)
    return True


def _destroy() -> None:
    """At exit: wait for every rank (at most a minute), then destroy the process group.

    Why the barrier (issue 13, the flaky torchrun test: rank 1 aborted with "terminate called without an active
    exception"): a DistributedDataParallel reducer keeps its process group alive after ``destroy_process_group``
    (measured with torch 2.13: after building one DDP and destroying the group, the gloo threads
    ``pt_gloo_runloop`` x2 and ``gloo_tcp_loop`` are still running; without DDP they are joined). So each rank
    exits with live gloo threads, and a rank that exits first closes its sockets while a slower rank (one the
    scheduler left behind on loaded cores) is still tearing down with its gloo threads watching them. Leaving
    together shrinks that window from "the rest of the other rank's run" to the last milliseconds of interpreter
    exit. A rank that fails before the others arrive does not hang: the barrier gives up after a minute."""
    if not dist.is_initialized():
        return
    if dist.get_world_size() > 1 and dist.get_backend() == "gloo":
        with contextlib.suppress(Exception):  # a rank died or timed out: leave anyway
            dist.monitored_barrier(timeout=datetime.timedelta(seconds=60))
    dist.destroy_process_group()


def all_reduce(values: torch.Tensor, op: str = "sum") -> torch.Tensor:
    """Sum (or max) a tensor over all processes; the identity without torchrun."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(values, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
    return values


def barrier() -> None:
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()


def distributed_sampler(dataset: Sized, shuffle: bool, seed: int) -> DistributedSampler | None:
    """Under torchrun, a ``DistributedSampler`` giving this rank its share of ``dataset``; otherwise None.

    Pass it as ``DataLoader(..., sampler=...)`` (with ``shuffle=False``); the trainer calls ``set_epoch`` on it.
    It needs no process group yet, so loaders can be built before the :class:`Trainer`.

    >>> distributed_sampler(list(range(10)), shuffle=True, seed=0) is None  # not under torchrun
    True
    """
    if world_size() <= 1:
        return None
    return DistributedSampler(dataset, num_replicas=world_size(), rank=rank(), shuffle=shuffle, seed=seed)  # type: ignore[arg-type]


def seeded_loader(
    dataset: Dataset | Sized,
    batch_size: int,
    shuffle: bool,
    seed: int,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    drop_last: bool = False,
) -> DataLoader:
    """A ``DataLoader`` whose order depends only on (seed, epoch), and that shards the data under torchrun.

    Shuffling is ``torch.randperm(len(dataset))`` from a generator seeded with ``seed + epoch``, the same
    permutation under torchrun (each rank takes every N-th item of it), so N processes with batch B see the same
    global batches as one process with batch N*B. The trainer calls ``loader.sampler.set_epoch(epoch)``.
    Under torchrun every rank gets the same number of items (``DistributedSampler`` repeats a few when
    ``len(dataset)`` is not a multiple of the world size, so validation means count those twice).

    >>> loader = seeded_loader(list(range(6)), batch_size=3, shuffle=True, seed=0)
    >>> loader.sampler.set_epoch(1); a = [b.tolist() for b in loader]
    >>> loader.sampler.set_epoch(1); a == [b.tolist() for b in loader]
    True
    """
    sampler: DistributedSampler = DistributedSampler(
        dataset,  # type: ignore[arg-type]
        num_replicas=world_size(),
        rank=rank(),
        shuffle=shuffle,
        seed=seed,
        drop_last=drop_last and world_size() > 1,
    )
    return DataLoader(
        dataset,  # type: ignore[arg-type]
        batch_size=batch_size,
        sampler=sampler,
        collate_fn=collate_fn,
        drop_last=drop_last,
    )


def set_epoch(loader: Any, epoch: int) -> None:
    """Tell a loader (or its sampler / batch sampler) which epoch starts, if it cares."""
    for obj in (
        loader,
        getattr(loader, "sampler", None),
        getattr(getattr(loader, "batch_sampler", None), "sampler", None),
    ):
        if obj is not None and callable(getattr(obj, "set_epoch", None)):
            obj.set_epoch(epoch)
            return


class StepModule(torch.nn.Module):
    """``forward(batch, carry)`` is ``step(model, batch, carry)``: the module that the trainer wraps in DDP.

    ``DistributedDataParallel`` only all-reduces the gradients of a backward that follows a forward through the
    wrapper (its forward arms the reducer: ``prepare_for_backward``). Application steps call any method of the
    model (``model.loss(batch)``), so, as PyTorch Lightning does for ``training_step``, the whole step is the
    wrapped forward: every parameter of ``model`` that the step uses, by whatever method, is then synchronised
    during backward by DDP itself, with its bucketing and overlap.

    The StepOutput is returned as is. With ``find_unused_parameters=False`` (what the trainer uses) DDP never looks
    inside the output. (With ``find_unused_parameters=True`` or ``static_graph`` it would: ``_find_tensors`` sees
    into dataclasses, but the ``_DDPSink`` pass flattens outputs with ``torch.utils._pytree``, to which an
    unregistered dataclass such as StepOutput is one opaque leaf.)

    >>> m = StepModule(torch.nn.Linear(2, 1), lambda model, batch, carry: model(batch).sum())
    >>> [name for name, _ in m.named_parameters()]
    ['model.weight', 'model.bias']
    """

    step_fn: Callable[[torch.nn.Module, Any, Any], Any]

    def __init__(self, model: torch.nn.Module, step: Callable[[torch.nn.Module, Any, Any], Any]) -> None:
        super().__init__()
        self.model = model
        # Not through nn.Module.__setattr__: a step that is itself a Module must not add parameters to DDP's set.
        self.__dict__["step_fn"] = step

    def forward(self, batch: Any, carry: Any) -> Any:
        return self.step_fn(self.model, batch, carry)


def data_parallel(
    model: torch.nn.Module, step: Callable[[torch.nn.Module, Any, Any], Any], device: torch.device
) -> torch.nn.Module:
    """``StepModule(model, step)``, wrapped in ``DistributedDataParallel`` when the process group is up.

    DDP broadcasts rank 0's parameters and buffers to every rank when it is built and rank 0's buffers again
    before each synchronised forward (``broadcast_buffers``); it averages gradients over ranks during backward.
    Gloo on CPU (``device_ids=None``), nccl on CUDA (``device_ids=[this process's GPU]``).

    >>> type(data_parallel(torch.nn.Linear(2, 1), lambda m, b, c: m(b), torch.device("cpu"))).__name__
    'StepModule'
    """
    module = StepModule(model, step)
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return module
    device_ids = [device.index if device.index is not None else local_rank()] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=device_ids)
