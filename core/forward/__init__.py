"""The experiments on random inputs (the book's §6.2.1-6.2.3): the forward experiment with its
backward statistics, the σ × depth map, variance-propagation theory, the diagnosis of what the
layers show, and the symmetry that equal weights never break."""
