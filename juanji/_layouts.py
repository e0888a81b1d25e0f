"""torch.layout and torch.memory_format: the names code passes around (``layout=torch.strided``,
``memory_format=torch.channels_last``). juanji's tensors are all strided, row-major NumPy arrays."""

__all__ = ["layout", "memory_format", "strided", "sparse_coo", "sparse_csr", "contiguous_format", "channels_last",
           "channels_last_3d", "preserve_format"]


class layout:
    """torch.layout: how a tensor's elements are stored (juanji's are all ``strided``)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"juanji.{self.name}"


class memory_format:
    """torch.memory_format: the order of a tensor's dims in memory (juanji keeps row-major arrays;
    code that asks for ``channels_last`` gets the same values)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"juanji.{self.name}"


strided, sparse_coo, sparse_csr = layout("strided"), layout("sparse_coo"), layout("sparse_csr")
contiguous_format, channels_last = memory_format("contiguous_format"), memory_format("channels_last")
channels_last_3d, preserve_format = memory_format("channels_last_3d"), memory_format("preserve_format")
