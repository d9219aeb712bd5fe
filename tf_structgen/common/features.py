"""Names of the graph pieces and features, declared once for the whole package.

A threading problem is one TF-GNN ``GraphTensor`` component:

* node set ``nodes``: one item per candidate Cα, feature ``aa_probs``
  ``[num_nodes, 20]`` (and ``xyz`` ``[num_nodes, 3]`` where coordinates exist);
* edge set ``contacts``: ``nodes -> nodes``, both directions of every contact,
  no self-loops (the GCN adds those);
* context: ``sequence`` ``[1, (n)]`` residue indices (0–19 in
  ``ACDEFGHIKLMNPQRSTVWY``, 20 unknown) and, for training and evaluation,
  ``target`` ``[1, (n)]`` the index of each residue's node within its own graph
  (-1 where the residue has no node).
"""

NODES = "nodes"
CONTACTS = "contacts"
AA_PROBS = "aa_probs"
XYZ = "xyz"
SEQUENCE = "sequence"
TARGET = "target"

# Keys of the numpy example dicts produced by the generators.
SOURCE = "source"
TARGET_NODE = "target_node"  # edge target; distinct from the label TARGET
