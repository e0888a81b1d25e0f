"""torch.utils.model_zoo: the older name of the hub's weight loader, which model collections still
import (``from torch.utils import model_zoo; model_zoo.load_url(url)``)."""

from ..hub import load_state_dict_from_url

load_url = load_state_dict_from_url

__all__ = ["load_url"]
