"""The model service on Ray Serve: the same FastAPI app, one autoscaled deployment per model.

    python -m medcore serve --ray              # starts (or joins) Ray, deploys, blocks
    serve run medcore.api.ray_app:app          # Ray's own CLI, same application

A ``Gateway`` deployment serves the FastAPI app of ``medcore.api.app`` (routes, access, limits,
audit, metrics); each prediction goes to that model's ``ModelReplica`` deployment, whose
replicas Ray Serve adds and removes with the load between ``min_replicas`` and
``max_replicas``. Machines joined to the cluster (``ray start --address HEAD:6379``) add room for
replicas. Settings, read when this module is imported:

    MEDCORE_SERVE_MODELS          comma-separated models to deploy (default: every bundle)
    MEDCORE_RAY_MIN_REPLICAS      per model, default 1
    MEDCORE_RAY_MAX_REPLICAS      per model, default 2
    MEDCORE_RAY_TARGET_REQUESTS   ongoing requests per replica before scaling up, default 2
    MEDCORE_RAY_REPLICA_CPUS      CPUs reserved per model replica, default 0.5

Ray is an optional extra (``requirements-serve.txt``).
"""

from __future__ import annotations

import os
import time

from ray import serve

from medcore.api import predict as predict_module
from medcore.api.app import ApiError, Backend, create_app
from medcore.core.errors import BundleIntegrityError, InvalidInputError, MedcoreError
from medcore.core.registry import list_models

__all__ = ["ModelReplica", "Gateway", "RayBackend", "build_app", "serve_forever", "settings"]


def settings() -> dict:
    """The deployment settings from the environment (see the module docstring)."""
    every = [card["name"] for card in list_models()]
    chosen = [m.strip() for m in os.environ.get("MEDCORE_SERVE_MODELS", "").split(",") if m.strip()]
    unknown = sorted(set(chosen) - set(every))
    if unknown:
        raise InvalidInputError(f"MEDCORE_SERVE_MODELS names unknown models: {', '.join(unknown)}.")
    minimum = int(os.environ.get("MEDCORE_RAY_MIN_REPLICAS", "1"))
    maximum = int(os.environ.get("MEDCORE_RAY_MAX_REPLICAS", "2"))
    if not 0 <= minimum <= maximum or maximum < 1:
        raise InvalidInputError(f"Replicas: need 0 <= min ({minimum}) <= max ({maximum}) and max >= 1.")
    return {
        "models": chosen or every,
        "min_replicas": minimum,
        "max_replicas": maximum,
        "target_ongoing_requests": float(os.environ.get("MEDCORE_RAY_TARGET_REQUESTS", "2")),
        "replica_cpus": float(os.environ.get("MEDCORE_RAY_REPLICA_CPUS", "0.5")),
    }


@serve.deployment
class ModelReplica:
    """One model, loaded and verified once per replica; answers ``medcore.api.predict.run``."""

    def __init__(self, name: str):
        from medcore.core.registry import load_model

        self.name = name
        self.model = load_model(name)

    def predict(self, payload: predict_module.Payload) -> dict:
        """``{"response", "summary"}``, or ``{"error": {"kind", "message"}}`` for medcore's own errors
        (returned, not raised, so no Ray traceback text reaches a caller)."""
        try:
            response, summary = predict_module.run(self.model, payload)
        except InvalidInputError as err:
            return {"error": {"kind": "invalid", "message": str(err)}}
        except MedcoreError as err:
            return {"error": {"kind": "unavailable", "message": str(err)}}
        return {"response": response, "summary": summary}


class RayBackend(Backend):
    """Predictions through the model deployments' handles."""

    def __init__(self, handles: dict):
        self.handles = handles
        # Read once: status() is asked on every prediction, and the cards do not change under a deployment.
        self._status = {card["name"]: "not deployed on this Ray Serve application" for card in list_models()}
        # Serve routes to a deployment only once its replicas are up and healthy.
        self._status.update({name: "ready" for name in handles})

    def status(self) -> dict[str, str]:
        return dict(self._status)

    async def predict(self, name: str, payload: predict_module.Payload) -> tuple[dict, dict]:
        handle = self.handles.get(name)
        if handle is None:
            raise ApiError(503, f"'{name}' is not deployed on this Ray Serve application (MEDCORE_SERVE_MODELS).")
        outcome = await handle.predict.remote(payload)
        if "error" in outcome:
            error = outcome["error"]
            raise (InvalidInputError if error["kind"] == "invalid" else BundleIntegrityError)(error["message"])
        return outcome["response"], outcome["summary"]


@serve.deployment
@serve.ingress()
class Gateway:
    """The FastAPI app of ``medcore.api.app``, built in the replica, its predictions sent to the model deployments."""

    def __init__(self, handles: dict):
        self.handles = handles

    def __serve_build_asgi_app__(self):
        return create_app(backend=RayBackend(self.handles))


def build_app(models: list[str] | None = None):
    """The Ray Serve application: the gateway and one autoscaled deployment per model."""
    config = settings()
    autoscaling = {k: config[k] for k in ("min_replicas", "max_replicas", "target_ongoing_requests")}
    replicas = {
        name: ModelReplica.options(
            name=f"model-{name}",
            autoscaling_config=autoscaling,
            ray_actor_options={"num_cpus": config["replica_cpus"], "runtime_env": {"env_vars": _threads(config)}},
        ).bind(name)
        for name in (models or config["models"])
    }
    return Gateway.options(ray_actor_options={"num_cpus": 0.1}).bind(replicas)


def _threads(config: dict) -> dict[str, str]:
    """Math threads per replica = its CPUs (at least 1): replicas sharing a machine do not oversubscribe it."""
    threads = str(max(1, int(config["replica_cpus"])))
    return {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads, "OMP_NUM_THREADS": threads}


def serve_forever(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Join the Ray cluster (``RAY_ADDRESS`` or one started with ``ray start``) or start a local one,
    deploy ``build_app()`` at ``http://host:port/`` and block until interrupted."""
    import ray

    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS") or os.path.exists("/tmp/ray/ray_current_cluster"):
            ray.init(address=os.environ.get("RAY_ADDRESS", "auto"))  # a cluster started with `ray start`
        else:  # a local instance; requests hold patient images, so never spill its object store to disk
            ray.init(include_dashboard=False, _system_config={"automatic_object_spilling_enabled": False})
    serve.start(http_options={"host": host, "port": port})
    serve.run(build_app(), name="medcore", route_prefix="/")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        serve.shutdown()


def __getattr__(name: str):
    # ``serve run medcore.api.ray_app:app`` builds the application on first access, not at import.
    if name == "app":
        globals()["app"] = build_app()
        return globals()["app"]
    raise AttributeError(name)
