"""Networks of the paper's topologies, run with the generated kernels."""

from lstm_proofs.network.model import Network, load_kernels
from lstm_proofs.network.topology import Params, Topology, init_params

__all__ = ["Network", "Params", "Topology", "init_params", "load_kernels"]
