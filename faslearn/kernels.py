"""Running notebooks headless without a hang: a level-triggered wait for the kernel's replies.

Measured (2026-12-06, nbclient 0.11, jupyter_client 8.10, pyzmq 27.3, ipykernel 7.4): a cell that shows
a widget with a figure in an ``Output`` (notebook 04's strength slider, ``faslearn.widgets``) left the
course runner waiting forever in 6 of 12 runs. The kernel had finished the cell (its "idle" status had
arrived) and its ``execute_reply`` was waiting on the shell socket, readable (``zmq.EVENTS`` showed
``POLLIN``), yet the asyncio poll on that socket never woke: pyzmq's asyncio sockets learn of new
messages from an edge-triggered file descriptor, and here the edge was consumed while the event loop
was busy with the large figure message on the iopub socket (the same as nbclient issue #312). A cell
timeout did not help either: it is the timeout of that same poll.

``steady_kernel_channels()`` makes every asynchronous channel of jupyter_client wait in slices of half a
second and look at the socket's level (``zmq.EVENTS``) before each slice, so a message that is there is
always read. nbclient, and papermill through it, then return. It changes nothing else and costs
nothing measurable; nbval uses jupyter_client's blocking channels (``zmq.Poller``, level-triggered) and
does not need it. The course runner, the sweep runner and the test harness call it once at start.
"""
import time
from queue import Empty

SLICE_SECONDS = 0.5


def steady_kernel_channels() -> None:
    """Replace ``AsyncZMQSocketChannel.get_msg`` with a sliced, level-checked wait (module docstring)."""
    import zmq
    from jupyter_client.channels import AsyncZMQSocketChannel

    if getattr(AsyncZMQSocketChannel.get_msg, "steady", False):
        return

    async def get_msg(self, timeout: float | None = None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self.socket.getsockopt(zmq.EVENTS) & zmq.POLLIN:  # a message is waiting: read it
                return await self._recv()
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise Empty
            wait = SLICE_SECONDS if remaining is None else min(SLICE_SECONDS, remaining)
            if await self.socket.poll(int(wait * 1000)):
                return await self._recv()

    get_msg.steady = True
    AsyncZMQSocketChannel.get_msg = get_msg
