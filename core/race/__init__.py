"""The training race on MNIST (the book's §6.2.4): networks trained side by side on the same
batches, what every layer does meanwhile (telemetry), the numbers a race is judged by, and the
worker processes (or threads) it runs in."""
