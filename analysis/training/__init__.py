"""Training: datasets over the crop cache, the one trainer, and what a run shows."""
