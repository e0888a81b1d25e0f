"""The 100-layer initialisation experiment, log scale, computed by juanji (argument: the PNG to write)."""
import sys
from juanji.explain.draw import draw
diagram = draw("init", sys.argv[1] if len(sys.argv) > 1 else "init.png")
print(diagram.path, diagram.captions)
