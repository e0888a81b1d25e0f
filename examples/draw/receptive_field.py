"""The receptive field growing through a stack of layers, computed by juanji (argument: the PNG to write)."""
import sys
from juanji.explain.draw import draw
diagram = draw("receptive-field", sys.argv[1] if len(sys.argv) > 1 else "receptive-field.png")
print(diagram.path, diagram.grids["layer3"].tolist())
