"""A fixture for test modules of small convolutional models: import it, and each test runs on one thread.

On a busy 2-core machine two OpenMP threads made such modules several times slower (7x for
test_two_stream.py) than one.

    from _threads import one_thread  # noqa: F401  (autouse: every test of the module)
"""
import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
