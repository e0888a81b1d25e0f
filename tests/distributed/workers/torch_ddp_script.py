"""A DDP training script as PyTorch's tutorials write it, run with ``import juanji as torch``
and started by ``python -m juanji.distributed.run --nproc-per-node K`` (torchrun's place)."""

import os
import sys
import tempfile

import juanji as torch
import juanji.distributed as dist
import juanji.nn as nn
import juanji.optim as optim
from juanji.nn.parallel import DistributedDataParallel as DDP
from juanji.utils.data import DataLoader, TensorDataset
from juanji.utils.data.distributed import DistributedSampler


class ToyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.net1 = nn.Linear(10, 10)
        self.relu = nn.ReLU()
        self.net2 = nn.Linear(10, 5)

    def forward(self, x):
        return self.net2(self.relu(self.net1(x)))


def main():
    local_rank = int(os.environ["LOCAL_RANK"])
    world_size = int(os.environ["WORLD_SIZE"])
    dist.init_process_group(backend="gloo")
    rank = dist.get_rank()
    assert rank == int(os.environ["RANK"]) and dist.get_world_size() == world_size
    torch.manual_seed(rank)
    model = ToyModel()
    ddp_model = DDP(model, device_ids=None)
    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(ddp_model.parameters(), lr=0.001)
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(40, 10, generator=g), torch.randn(40, 5, generator=g))
    sampler = DistributedSampler(data, shuffle=True, seed=1)
    loader = DataLoader(data, batch_size=4, sampler=sampler)
    for epoch in range(2):
        sampler.set_epoch(epoch)
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(ddp_model(x), y).backward()
            optimizer.step()
    path = os.path.join(tempfile.gettempdir(), f"juanji_ddp_{os.getppid()}.pt")
    if rank == 0:
        torch.save(ddp_model.state_dict(), path)
    dist.barrier()
    state = torch.load(path)
    ddp_model.load_state_dict(state)
    flat = torch.cat([p.detach().reshape(-1) for p in ddp_model.parameters()])
    everyone = [torch.zeros_like(flat) for _ in range(world_size)]
    dist.all_gather(everyone, flat)
    assert all(torch.equal(e, flat) for e in everyone)
    dist.barrier()
    if rank == 0:
        os.remove(path)
        print(f"ok torch-style script on {world_size} ranks, local rank {local_rank}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
    sys.exit(0)
