"""d2l fig. 7.2.1: cross-correlation, 3x3 input, 2x2 kernel, computed by juanji (argument: the PNG to write)."""
import sys
from juanji.explain.draw import draw
diagram = draw("correlation", sys.argv[1] if len(sys.argv) > 1 else "correlation.png")
print(diagram.path, diagram.grids["output"].tolist())
