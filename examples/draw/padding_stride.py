"""d2l fig. 7.3.3: padding and stride, the output size filled in, computed by juanji (argument: the PNG to write)."""
import sys
from juanji.explain.draw import draw
diagram = draw("padding-stride", sys.argv[1] if len(sys.argv) > 1 else "padding-stride.png")
print(diagram.path, diagram.grids["output"].tolist())
