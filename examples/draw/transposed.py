"""d2l fig. 14.10.1: transposed convolution as scattered kernels, computed by juanji (argument: the PNG to write)."""
import sys
from juanji.explain.draw import draw
diagram = draw("transposed", sys.argv[1] if len(sys.argv) > 1 else "transposed.png")
print(diagram.path, diagram.grids["output"].tolist())
