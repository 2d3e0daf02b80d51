"""The network: what a layer is made of (initializers, activations, batch norm), the stacked MLP
with its one forward and one backward pass, the loss and the optimizers."""
