"""d2l fig. 7.4.2: a 1x1 convolution is a per-pixel dense layer, computed by juanji (argument: the PNG to write)."""
import sys
from juanji.explain.draw import draw
diagram = draw("conv1x1", sys.argv[1] if len(sys.argv) > 1 else "conv1x1.png")
print(diagram.path, diagram.grids["pixel_out"].tolist())
