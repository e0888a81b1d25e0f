"""d2l's corr2d_multi_in_out: three output channels, computed by juanji (argument: the PNG to write)."""
import sys
from juanji.explain.draw import draw
diagram = draw("channels-out", sys.argv[1] if len(sys.argv) > 1 else "channels-out.png")
print(diagram.path, diagram.grids["output0"].tolist())
