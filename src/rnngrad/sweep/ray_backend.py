"""Run training configs as Ray tasks on an existing Ray cluster; results return to the driver.

Ray is an optional dependency (``pip install 'rnngrad[ray]'``). Every node of the cluster needs
rnngrad importable. Each run is one task with ``num_cpus=1``; the driver (the sweep process)
collects results as they finish and alone writes the database.
"""

from __future__ import annotations

import socket
from typing import Any, Callable, Sequence

from rnngrad.errors import InputError
from rnngrad.training import TrainConfig, TrainResult, train

CONNECT_TIMEOUT_S = 3.0
DEFAULT_PORT = 6379  # Ray's default GCS port


def connect(address: str) -> Any:
    """Connect this process to the Ray cluster at ``address`` ("auto", "host:port", "ray://...").

    Returns:
        The ``ray`` module, connected.

    Raises:
        InputError: ray is not installed, or no cluster answers at ``address``.
    """
    try:
        import ray
    except ImportError as error:
        raise InputError(f"ray: expected the optional dependency ray (pip install 'rnngrad[ray]'), "
                         f"got ImportError: {error}") from None
    if not isinstance(address, str) or not address.strip():
        raise InputError(f"ray: expected 'auto' or a cluster address host:port, got {address!r}")
    if address != "auto":
        _check_reachable(address)
    if ray.is_initialized():
        ray.shutdown()
    try:
        ray.init(address=address, log_to_driver=False, logging_level="error", configure_logging=False)
    except Exception as error:  # ray raises ConnectionError, RuntimeError, ValueError, ...
        raise InputError(f"ray: expected a running Ray cluster at {address!r}, "
                         f"got {type(error).__name__}: {_first_line(error)}") from None
    return ray


def disconnect() -> None:
    """Disconnect this driver from the cluster (the cluster keeps running)."""
    import ray

    if ray.is_initialized():
        ray.shutdown()


def run_ray(configs: Sequence[TrainConfig], on_result: Callable[[TrainResult], None]) -> None:
    """Train every config as a Ray task; call ``on_result`` on the driver as each finishes."""
    import ray

    remote_train = ray.remote(num_cpus=1, max_retries=0)(_train_remotely)
    pending = {remote_train.remote(config.to_dict()): config for config in configs}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        for reference in done:
            pending.pop(reference)
            on_result(TrainResult.from_dict(ray.get(reference)))


def _train_remotely(config: dict[str, Any]) -> dict[str, Any]:
    return train(TrainConfig.from_dict(config)).to_dict()


def _check_reachable(address: str) -> None:
    """Fail fast (a few seconds, not Ray's long retry loop) when nothing listens at ``address``."""
    host_port = address.removeprefix("ray://").split("/")[0]
    host, _, port_text = host_port.rpartition(":")
    if not host:
        host, port_text = host_port, str(DEFAULT_PORT)
    try:
        port = int(port_text)
    except ValueError:
        raise InputError(f"ray: expected 'auto' or host:port, got {address!r}") from None
    try:
        with socket.create_connection((host.strip("[]"), port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as error:
        raise InputError(f"ray: expected a Ray cluster at {address!r}, got no answer ({error})") from None


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "no message"
