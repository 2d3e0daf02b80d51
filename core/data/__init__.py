"""The digits: MNIST from the user's folder, the verified cache or its mirrors, else the bundled
sample (`mnist_sample.npz`, beside this file); IDX parsing; the read-only `Dataset`."""
