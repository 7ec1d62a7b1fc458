"""The model service: FastAPI over the same registry and models the pages use.

    python -m medcore serve [--host 127.0.0.1] [--port 8000] [--workers N] [--ray]

Endpoints (ARCHITECTURE.md, "Model service"): ``/healthz``, ``/readyz``, ``/v1/models``,
``/v1/models/{name}``, ``POST /v1/models/{name}/predict``, ``/metrics``; OpenAPI at ``/docs``.
Every error is JSON ``{"error": message}``; nothing returns a traceback. Bodies are checked
against ``LIMITS['max_request_bytes']`` before they are read, and stay in memory. Every
prediction is audited (token name, model, input sha256, a result summary; no content).

The models run in a ``Backend``: in this process by default (loaded in the background at
start-up), or in Ray Serve deployments (``medcore.api.ray_app``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

import medcore
from medcore.api import predict as predict_module
from medcore.api.metrics import ServiceMetrics
from medcore.api.tokens import TokenTable, load_tokens
from medcore.core import audit
from medcore.core.errors import BundleIntegrityError, InvalidInputError, MedcoreError, ModelNotFoundError
from medcore.core.registry import list_models, load_model, read_card
from medcore.core.settings import LIMITS

__all__ = ["ApiError", "Backend", "InProcessBackend", "create_app", "LOOPBACK"]

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_MB = 1024 * 1024
log = logging.getLogger("medcore.api")


class ApiError(Exception):
    """An HTTP error with a message a developer can act on."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


class Backend:
    """Where the models run. ``status`` -> {model name: "ready" | "loading" | why it is unavailable}."""

    def start(self) -> None:
        """Begin loading (non-blocking)."""

    def status(self) -> dict[str, str]:
        raise NotImplementedError

    async def predict(self, name: str, payload: predict_module.Payload) -> tuple[dict, dict]:
        """``medcore.api.predict.run`` for model ``name``: (response, audit summary)."""
        raise NotImplementedError


class InProcessBackend(Backend):
    """Every model of the models folder, loaded and verified once in this process (in the background)."""

    def __init__(self) -> None:
        self._status: dict[str, str] = {card["name"]: "loading" for card in list_models()}
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._load_all, name="medcore-api-load", daemon=True)
            self._thread.start()

    def _load_all(self) -> None:
        for name in list(self._status):
            try:
                load_model(name)
                self._status[name] = "ready"
            except MedcoreError as err:
                self._status[name] = str(err)
            except Exception as err:  # noqa: BLE001 - a broken bundle must not stop the others loading
                self._status[name] = f"could not be loaded ({type(err).__name__}); see the server log"
                log.exception("loading model %s failed", name)

    def status(self) -> dict[str, str]:
        return dict(self._status)

    async def predict(self, name: str, payload: predict_module.Payload) -> tuple[dict, dict]:
        model = await run_in_threadpool(load_model, name)  # cached; loads now if start-up has not yet
        return await run_in_threadpool(predict_module.run, model, payload)


def create_app(backend: Backend | None = None, tokens: TokenTable | None = None) -> FastAPI:
    """The FastAPI app over ``backend`` (default: in-process models) and ``tokens`` (default: configured ones)."""
    backend = backend or InProcessBackend()
    tokens = tokens if tokens is not None else load_tokens()
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.backend.start()  # the backend may be replaced after creation (Ray Serve's gateway does)
        yield

    app = FastAPIOffline(  # /docs with Swagger UI served from the package, not a CDN
        title="medcore model service",
        version=medcore.__version__,
        description=(
            "Trained clinical models over HTTP: calibrated probabilities, explanations, and no answer "
            "outside what a model knows. Decision support, not a diagnosis."
        ),
        lifespan=lifespan,
    )
    app.state.backend, app.state.tokens, app.state.metrics = backend, tokens, metrics
    _add_error_handlers(app)

    @app.middleware("http")
    async def guard_docs(request: Request, call_next):
        """The API description answers whoever may call the API: a token when tokens are configured."""
        if request.url.path.startswith(("/docs", "/openapi.json", "/redoc", "/static")):
            try:
                _caller(request)
            except ApiError as err:
                return JSONResponse({"error": err.message}, status_code=err.status, headers=err.headers)
        return await call_next(request)

    @app.middleware("http")
    async def count(request: Request, call_next):
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:
            metrics.observe("unhandled", request.path_params.get("name", ""), 500, time.perf_counter() - started)
            raise
        route = request.scope.get("route")
        model = request.path_params.get("name", "") if route is not None else ""
        metrics.observe(getattr(route, "path", "unmatched"), model, response.status_code, time.perf_counter() - started)
        return response

    @app.get("/healthz", summary="Alive")
    def healthz() -> dict:
        return {"status": "alive"}

    @app.get("/readyz", summary="Models loaded and verified")
    def readyz(request: Request) -> JSONResponse:
        status = request.app.state.backend.status()
        loading = sorted(n for n, s in status.items() if s == "loading")
        ready = sorted(n for n, s in status.items() if s == "ready")
        unavailable = {n: s for n, s in status.items() if s not in ("loading", "ready")}
        ok = not loading and bool(ready)
        body = {"ready": ok, "models": ready, "loading": loading, "unavailable": unavailable}
        return JSONResponse(body, status_code=200 if ok else 503, headers=None if ok else {"Retry-After": "5"})

    @app.get(
        "/metrics", summary="Prometheus metrics (a token when tokens are configured)", response_class=PlainTextResponse
    )
    def prometheus(request: Request) -> PlainTextResponse:
        _caller(request)  # with tokens configured, any valid token; without, this machine only
        return PlainTextResponse(metrics.render(), media_type=metrics.content_type)

    @app.get("/v1/models", summary="Every model: name, kind, task, version, headline figures")
    def models(request: Request) -> list[dict]:
        token = _caller(request)
        return [
            {k: card.get(k) for k in ("name", "kind", "task", "version", "metrics")}
            for card in list_models()
            if token is None or token.allows(card["name"])
        ]

    @app.get("/v1/models/{name}", summary="One model's card")
    def card(name: str, request: Request) -> dict:
        _caller(request, name)
        return read_card(name)

    @app.post(
        "/v1/models/{name}/predict",
        summary="Predict: image files as multipart parts named 'files', everything else as JSON",
    )
    async def predict(name: str, request: Request, explain: bool = False) -> JSONResponse:
        token = _caller(request, name)
        card = read_card(name)  # 404 before the body is read
        backend = request.app.state.backend
        _check_available(backend, name)
        payload = await _payload(request, card["kind"], name, explain)
        response, summary = await backend.predict(name, payload)
        who = f"api:{token.name}" if token else "api:local"
        audit.record("api predict", card, predict_module.digest(payload), summary, user=who)
        return JSONResponse(response)

    return app


def _caller(request: Request, model: str | None = None):
    """The calling token (None when the service runs without tokens); 401/403 otherwise."""
    tokens: TokenTable = request.app.state.tokens
    host = request.client.host if request.client else ""
    if not tokens:
        if host in LOOPBACK:
            return None
        raise ApiError(
            403,
            "This service has no API tokens configured, so it answers callers on its own machine only. "
            "Add tokens (python -m medcore.api.tokens NAME) to call it from elsewhere.",
        )
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    challenge = {"WWW-Authenticate": "Bearer"}
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(401, "Send an API token: 'Authorization: Bearer <token>'.", challenge)
    token = tokens.identify(presented.strip())
    if token is None:
        raise ApiError(401, "The API token is not valid; ask the service's administrator for one.", challenge)
    if model is not None and not token.allows(model):
        raise ApiError(403, f"The token '{token.name}' may not use '{model}'; it may use: {', '.join(token.models)}.")
    return token


def _check_available(backend: Backend, name: str) -> None:
    state = backend.status().get(name)
    if state == "loading":
        raise ApiError(503, f"'{name}' is still loading; retry in a few seconds.", {"Retry-After": "5"})
    if state not in (None, "ready"):
        raise ApiError(503, f"'{name}' is unavailable: {state}")


async def _payload(request: Request, kind: str, name: str, explain: bool) -> predict_module.Payload:
    """The request's files or JSON body, refused when too large before it is read, or of the wrong type."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    wants_files = kind in predict_module.FILE_KINDS
    expected = "multipart/form-data" if wants_files else "application/json"
    if media != expected:
        how = (
            "image files as multipart/form-data parts named 'files' (curl -F files=@image.png)"
            if wants_files
            else "a JSON object (Content-Type: application/json)"
        )
        raise ApiError(415, f"'{name}' takes {how}; the request's Content-Type was '{media or 'none'}'.")
    body = await _read_body(request)
    if wants_files:
        return predict_module.Payload(files=_files(content_type, body), explain=explain)
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise ApiError(400, f"The body is not valid JSON ({err}).") from None
    return predict_module.Payload(body=parsed, explain=explain)


async def _read_body(request: Request) -> bytes:
    limit = LIMITS["max_request_bytes"]
    too_large = f"The request is over the limit of {limit / _MB:.0f} MB; send fewer or smaller files per request."
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "The Content-Length header is not a number.")
        if int(declared) > limit:
            raise ApiError(413, too_large)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, too_large)
        chunks.append(chunk)
    return b"".join(chunks)


def _files(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    """The parts named ``files`` of a multipart body, parsed in memory (never spooled to disk)."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ApiError(400, "The multipart body could not be read (no boundary); let your HTTP client build it.")
    files = []
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") != "files":
            continue
        data = part.get_payload(decode=True) or b""
        name = part.get_filename() or f"file {len(files) + 1}"
        if len(data) > LIMITS["max_file_bytes"]:
            raise ApiError(
                413,
                f"'{name}' is {len(data) / _MB:.1f} MB; the limit is {LIMITS['max_file_bytes'] / _MB:.0f} MB. "
                "Send a smaller export of the image.",
            )
        files.append((name, data))
    if not files:
        raise ApiError(422, "No parts named 'files' were sent; send each image as a part named 'files'.")
    return files


def _add_error_handlers(app: FastAPI) -> None:
    def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError):
        return error(err.status, err.message, err.headers)

    @app.exception_handler(ModelNotFoundError)
    async def not_found(request: Request, err: ModelNotFoundError):
        # Not the registry's text: that names the server's folders and every model.
        name = request.path_params.get("name", "")
        return error(404, f"No model named '{name}'; GET /v1/models lists the models this service has.")

    @app.exception_handler(InvalidInputError)
    async def invalid(request: Request, err: InvalidInputError):
        return error(422, str(err))

    @app.exception_handler(BundleIntegrityError)
    async def unavailable(request: Request, err: BundleIntegrityError):
        return error(503, str(err))

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, err: RequestValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        return error(422, f"The request is not valid: {problems}.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException):
        message = {404: f"No endpoint at {request.url.path}; see /docs.", 405: "Method not allowed here; see /docs."}
        return error(err.status_code, message.get(err.status_code, str(err.detail)), getattr(err, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception):
        # The type only: an exception's text may quote the input, which must not reach the log.
        log.error("unexpected %s on %s %s", type(err).__name__, request.method, request.url.path)
        return error(500, "The service failed on this request; the error was logged (no content). Try again.")


def __getattr__(name: str) -> Any:
    # ``uvicorn medcore.api.app:app`` builds the app on first access, not at import.
    if name == "app":
        globals()["app"] = create_app()
        return globals()["app"]
    raise AttributeError(name)
