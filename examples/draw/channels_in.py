"""d2l fig. 7.4.1: two input channels, a kernel each, summed, computed by juanji (argument: the PNG to write)."""
import sys
from juanji.explain.draw import draw
diagram = draw("channels-in", sys.argv[1] if len(sys.argv) > 1 else "channels-in.png")
print(diagram.path, diagram.grids["output"].tolist())
