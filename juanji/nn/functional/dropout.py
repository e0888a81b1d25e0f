"""dropout functions (torch.nn.functional surface)."""
__all__ = []
