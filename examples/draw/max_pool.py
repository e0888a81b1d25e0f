"""d2l fig. 7.5.1: maximum pooling, 2x2 window, computed by juanji (argument: the PNG to write)."""
import sys
from juanji.explain.draw import draw
diagram = draw("max-pool", sys.argv[1] if len(sys.argv) > 1 else "max-pool.png")
print(diagram.path, diagram.grids["output"].tolist())
