"""``python -m analysis train`` with every BatchNorm replaced by an identity
(:func:`tests.conftest.without_batch_statistics`), for torchrun to start: without batch
statistics, which are each process's own under DDP, two processes must train what one
process trains, up to the order of floating-point sums (tests/test_train.py)."""

from analysis import cli
from analysis.training import trainer
from tests.conftest import without_batch_statistics

trainer.create_model = without_batch_statistics
raise SystemExit(cli.main())
