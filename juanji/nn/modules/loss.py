"""loss modules (torch.nn surface)."""
__all__ = []
