"""Cell declarations (equations) and the library of declared cells."""

from lstm_proofs.cells.declaration import CellDeclaration, Equation, declare_cell
from lstm_proofs.cells.library import CELLS, get_cell

__all__ = ["CELLS", "CellDeclaration", "Equation", "declare_cell", "get_cell"]
